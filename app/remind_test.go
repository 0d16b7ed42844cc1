package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/bottest"
	"acsbot/clock"
	"acsbot/feishufake"
)

// remindUsers are n people without a face photo and two with one.
func remindUsers(n int) []acs.User {
	users := []acs.User{
		{ID: "ou_hasface00000000000000000000000001", FaceUploaded: true},
		{ID: "ou_hasface00000000000000000000000002", FaceUploaded: true, Card: 42},
	}
	for i := 0; i < n; i++ {
		users = append(users, acs.User{ID: fmt.Sprintf("ou_noface%027d", i)})
	}
	return users
}

func noFaceOf(users []acs.User) []acs.User {
	var out []acs.User
	for _, u := range users {
		if !u.FaceUploaded {
			out = append(out, u)
		}
	}
	return out
}

// reminders counts the reminder DMs each person got.
func (h *harness) reminders() map[string]int {
	out := map[string]int{}
	for _, m := range h.Fake.Messages() {
		if m.Kind == "create" && m.ReceiveIDType == "open_id" && strings.HasPrefix(m.UUID, "rmd-") {
			out[m.ReceiveID]++
		}
	}
	return out
}

// confirm asks for reminders in the admin's direct chat and returns the confirm
// card's message and the values of its Send and Cancel buttons.
func (h *harness) confirm() (msg feishufake.Message, send, cancel map[string]any) {
	h.t.Helper()
	ev := h.Say("p2p", adminP2P, adminID, "/remind noface")
	msg = h.ReplyTo(messageID(h.t, ev))
	for _, val := range callbackValues(h.t, msg.Content) {
		switch val["a"] {
		case "remind_send":
			send = val
		case "remind_cancel":
			cancel = val
		}
	}
	if send == nil || cancel == nil {
		h.t.Fatalf("confirm card without Send and Cancel buttons: %s", msg.Content)
	}
	return msg, send, cancel
}

// click delivers a button click on the confirm card in the admin's direct chat.
func (h *harness) click(operator string, msg feishufake.Message, value map[string]any) bottest.ClickAnswer {
	h.t.Helper()
	return h.Click(operator, adminP2P, msg, value)
}

// result waits for the confirm card to show a round's result and returns its text.
func (h *harness) result(msg feishufake.Message) string {
	h.t.Helper()
	var got string
	h.Eventually("the reminder result", func() bool {
		for _, m := range h.Fake.Messages() {
			if m.ID == msg.ID && strings.Contains(m.Content, "提醒已发送") {
				got = readable(texts(h.t, m.Content))
				return true
			}
		}
		return false
	})
	return got
}

func TestReminderConfirmCard(t *testing.T) {
	users := remindUsers(12)
	h := newHarness(t, harnessOpts{Users: users})
	cases := []struct {
		name, chatType, chat, sender, text string
		want, wantNot                      []string
	}{
		{"slash", "p2p", adminP2P, adminID, "/remind noface", []string{"12 人", users[2].ID, "发送", "取消"}, nil},
		{"Chinese", "p2p", adminP2P, adminID, "提醒 没有人脸", []string{"12 人", "另有 2 人"}, nil},
		{"English", "p2p", adminP2P, adminID, "remind who has no face photo", []string{"12 people", "Send"}, nil},
		{"a reader is refused", "group", readerChat, readerID, "/remind noface", []string{"无法在这里使用"}, []string{users[2].ID}},
		{"only no-face reminders exist", "p2p", adminP2P, adminID, "/remind nocard", []string{"/remind"}, []string{users[2].ID}},
		{"a target is needed", "p2p", adminP2P, adminID, "/remind", []string{"/remind"}, []string{users[2].ID}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := h.Ask(c.chatType, c.chat, c.sender, c.text)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("reply to %q lacks %q:\n%s", c.text, w, got)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("reply to %q has %q:\n%s", c.text, w, got)
				}
			}
		})
	}
	if n := len(h.reminders()); n != 0 {
		t.Fatalf("%d people reminded before anyone clicked Send", n)
	}
}

// Only an admin's click counts, only once; Cancel spends the card too.
func TestReminderClicks(t *testing.T) {
	users := remindUsers(4)
	h := newHarness(t, harnessOpts{Users: users})

	msg, send, _ := h.confirm()
	if a := h.click(readerID, msg, send); a.Toast.Type != "error" || a.Card != nil {
		t.Fatalf("a reader's click was not refused: %+v", a)
	}
	if a := h.click(outsiderID, msg, send); a.Toast.Type != "error" {
		t.Fatalf("an outsider's click was not refused: %+v", a)
	}
	if n := len(h.reminders()); n != 0 {
		t.Fatalf("refused clicks reminded %d people", n)
	}
	a := h.click(adminID, msg, send)
	if a.Card == nil || !strings.Contains(string(a.Card.Data), "正在发送提醒") {
		t.Fatalf("Send did not turn the card into a progress card: %+v", a)
	}
	got := h.result(msg)
	if !strings.Contains(got, "**4**\n已发送") {
		t.Errorf("result card does not count 4 sent:\n%s", got)
	}
	for _, u := range noFaceOf(users) {
		if n := h.reminders()[u.ID]; n != 1 {
			t.Errorf("%s got %d reminders, want 1", u.ID, n)
		}
	}
	for _, u := range users[:2] {
		if n := h.reminders()[u.ID]; n != 0 {
			t.Errorf("%s has a face photo and got %d reminders", u.ID, n)
		}
	}
	// A second click does nothing: the click itself claims the card, so no work
	// can be under way when its answer comes.
	if a := h.click(adminID, msg, send); a.Card != nil || a.Toast.Type != "info" {
		t.Fatalf("a second click answered %+v, want a toast only", a)
	}
	if n := len(h.reminders()); n != 4 {
		t.Fatalf("%d reminders after a double click, want 4", n)
	}

	t.Run("cancel spends the card", func(t *testing.T) {
		msg, send, cancel := h.confirm()
		if a := h.click(adminID, msg, cancel); !strings.Contains(a.Toast.Content, "已取消") {
			t.Fatalf("Cancel answered %+v", a)
		}
		if a := h.click(adminID, msg, send); a.Card != nil {
			t.Fatalf("Send after Cancel started a round: %+v", a)
		}
		if n := len(h.reminders()); n != 4 {
			t.Fatalf("%d reminders after Cancel, want still 4", n)
		}
	})
}

// Nobody gets a second reminder within 24 hours, however many rounds run.
func TestReminderOncePer24Hours(t *testing.T) {
	users := remindUsers(3)
	clock := clock.NewFake(at("2026-11-25", "10:00"))
	h := newHarness(t, harnessOpts{Users: users, Clock: clock})
	rounds := []struct {
		after         time.Duration // since the first round
		sent, skipped int
		total         int // reminders each person has had
	}{
		{0, 3, 0, 1},
		{time.Minute, 0, 3, 1},
		{23 * time.Hour, 0, 3, 1},
		{24 * time.Hour, 3, 0, 2},
	}
	start := clock.Now()
	for _, r := range rounds {
		clock.Set(start.Add(r.after))
		msg, send, _ := h.confirm()
		h.click(adminID, msg, send)
		got := h.result(msg)
		if want := fmt.Sprintf("**%d**\n已发送", r.sent); !strings.Contains(got, want) {
			t.Errorf("round at +%v: result lacks %q:\n%s", r.after, want, got)
		}
		if want := fmt.Sprintf("**%d**\n已跳过", r.skipped); !strings.Contains(got, want) {
			t.Errorf("round at +%v: result lacks %q:\n%s", r.after, want, got)
		}
		for _, u := range noFaceOf(users) {
			if n := h.reminders()[u.ID]; n != r.total {
				t.Errorf("round at +%v: %s has had %d reminders, want %d", r.after, u.ID, n, r.total)
			}
		}
	}
}

// One person Feishu refuses is reported with the reason and may be reminded again
// later; one rate-limited answer is waited out; everyone else gets theirs.
func TestReminderPartialFailure(t *testing.T) {
	users := remindUsers(5)
	noFace := noFaceOf(users)
	clock := clock.NewFake(at("2026-11-25", "10:00"))
	h := newHarness(t, harnessOpts{Users: users, Clock: clock})
	h.Fake.InjectMessageFault(feishufake.MessageFault{Code: 230013, ReceiveID: noFace[1].ID})
	h.Fake.InjectMessageFault(feishufake.MessageFault{HTTPStatus: 429, Code: 99991400, ResetSeconds: 1, ReceiveID: noFace[3].ID, Times: 1})

	msg, send, _ := h.confirm()
	h.click(adminID, msg, send)
	got := h.result(msg)
	for _, w := range []string{"**4**\n已发送", "**1**\n发送失败", noFace[1].ID, "230013"} {
		if !strings.Contains(got, w) {
			t.Errorf("result lacks %q:\n%s", w, got)
		}
	}
	sent := h.reminders()
	for i, u := range noFace {
		want := 1
		if i == 1 {
			want = 0
		}
		if sent[u.ID] != want {
			t.Errorf("%s got %d reminders, want %d", u.ID, sent[u.ID], want)
		}
	}

	// The refused person was not counted as reminded: once Feishu accepts, an hour
	// later, they get theirs and the others are skipped.
	h.Fake.ClearFaults()
	clock.Add(time.Hour)
	msg, send, _ = h.confirm()
	h.click(adminID, msg, send)
	got = h.result(msg)
	if !strings.Contains(got, "**1**\n已发送") || !strings.Contains(got, "**4**\n已跳过") {
		t.Errorf("second round result:\n%s", got)
	}
	if n := h.reminders()[noFace[1].ID]; n != 1 {
		t.Errorf("the person refused before got %d reminders, want 1", n)
	}
}

// A refusal that is the same for everyone (the app lacks the scope) stops the round
// at once and says why, instead of failing person after person.
func TestReminderStopsOnAppWideRefusal(t *testing.T) {
	users := remindUsers(6)
	noFace := noFaceOf(users)
	h := newHarness(t, harnessOpts{Users: users})
	h.Fake.InjectMessageFault(feishufake.MessageFault{Code: 99991672, ReceiveID: noFace[0].ID})
	msg, send, _ := h.confirm()
	h.click(adminID, msg, send)
	got := h.result(msg)
	if !strings.Contains(got, "**6**\n发送失败") || !strings.Contains(got, "99991672") {
		t.Errorf("result does not report the app-wide refusal for all 6:\n%s", got)
	}
	calls := 0
	for _, c := range h.Fake.Calls() {
		if c.Method == "POST" && c.Path == "/open-apis/im/v1/messages" && strings.Contains(c.Query, "open_id") {
			calls++
		}
	}
	if calls != 1 {
		t.Errorf("%d reminder sends, want 1: the round should stop at the first", calls)
	}
}
