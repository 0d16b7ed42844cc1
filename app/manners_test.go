package app_test

import (
	"context"
	"strings"
	"testing"

	"acsbot/acs"
	"acsbot/feishufake"
)

// sentTo are the cards the bot sent to a receiver with a uuid of the given prefix.
func (h *harness) sentTo(receiveID, uuidPrefix string) []feishufake.Message {
	var out []feishufake.Message
	for _, m := range h.Fake.Messages() {
		if m.Kind == "create" && m.ReceiveID == receiveID && strings.HasPrefix(m.UUID, uuidPrefix) {
			out = append(out, m)
		}
	}
	return out
}

// waitSent waits for n cards to a receiver and returns the text of the last.
func (h *harness) waitSent(receiveID, uuidPrefix string, n int) string {
	h.t.Helper()
	h.Eventually("a card to "+receiveID, func() bool { return len(h.sentTo(receiveID, uuidPrefix)) >= n })
	got := h.sentTo(receiveID, uuidPrefix)
	return readable(texts(h.t, got[len(got)-1].Content))
}

// settle waits until the bot has finished every piece of work it recorded.
func (h *harness) settle() {
	h.t.Helper()
	st := h.DB()
	h.Eventually("recorded work to finish", func() bool {
		pending, err := st.Pending(context.Background())
		return err == nil && len(pending) == 0
	})
}

func operator(openID string) map[string]any {
	return map[string]any{"open_id": openID, "union_id": "on_" + strings.TrimPrefix(openID, "ou_")}
}

// Added to a group or opened in a direct chat, the bot says what it can do there
// for that person, once per event and, in a direct chat, once a day.
func TestWelcomeCards(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	const adminDM, outsiderDM = "oc_dm_admin000000000000000000000001", "oc_dm_outsider0000000000000000000002"
	cases := []struct {
		name          string
		event         feishufake.Envelope
		chat          string
		want, wantNot []string
	}{
		{"admin adds the bot to a group",
			h.Fake.Event("im.chat.member.bot.added_v1", map[string]any{"chat_id": readerChat, "operator_id": operator(adminID), "external": false, "name": "Facility team"}),
			readerChat, []string{"你好，我是门禁机器人", "/noface", "/subscribe", "/remind", "@我"}, nil},
		{"someone with no rights adds the bot to a group",
			h.Fake.Event("im.chat.member.bot.added_v1", map[string]any{"chat_id": otherChat, "operator_id": operator(outsiderID), "external": false, "name": "Lunch"}),
			otherChat, []string{"你好，我是门禁机器人", "/help"}, []string{"/noface", "/subscribe [HH:MM]"}},
		{"an admin opens a direct chat",
			h.Fake.Event("im.chat.access_event.bot_p2p_chat_entered_v1", map[string]any{"chat_id": adminDM, "operator_id": operator(adminID)}),
			adminDM, []string{"你好，我是门禁机器人", "/card", "/remind", "不用 @我"}, nil},
		{"an outsider opens a direct chat",
			h.Fake.Event("im.chat.access_event.bot_p2p_chat_entered_v1", map[string]any{"chat_id": outsiderDM, "operator_id": operator(outsiderID)}),
			outsiderDM, []string{"/help"}, []string{"/noface", "/stats"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := 0; i < 2; i++ { // Feishu delivering it twice
				if status, body := h.Deliver(c.event); status != 200 {
					t.Fatalf("status %d: %s", status, body)
				}
			}
			got := h.waitSent(c.chat, "w-", 1)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("welcome lacks %q:\n%s", w, got)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("welcome offers %q to someone who may not run it:\n%s", w, got)
				}
			}
		})
	}
	// Opening the direct chat again the same day brings no second welcome.
	again := h.Fake.Event("im.chat.access_event.bot_p2p_chat_entered_v1", map[string]any{"chat_id": adminDM, "operator_id": operator(adminID)})
	if status, _ := h.Deliver(again); status != 200 {
		t.Fatalf("status %d", status)
	}
	h.settle()
	for _, c := range cases {
		if n := len(h.sentTo(c.chat, "w-")); n != 1 {
			t.Errorf("%s: %d welcomes, want 1", c.name, n)
		}
	}
}

// Menu items noface, stats and help run the command and answer by direct message,
// with the clicker's rights; other keys are ignored.
func TestBotMenu(t *testing.T) {
	users := []acs.User{
		{ID: "ou_face0000000000000000000000000001", FaceUploaded: true, Card: 1},
		{ID: "ou_noface00000000000000000000000002"},
	}
	h := newHarness(t, harnessOpts{Users: users})
	menu := func(openID, key string) feishufake.Envelope {
		return h.Fake.Event("application.bot.menu_v6", map[string]any{
			"operator":  map[string]any{"operator_name": "Someone", "operator_id": operator(openID)},
			"event_key": key,
			"timestamp": 1764000000,
		})
	}
	cases := []struct {
		name, who, key string
		want, wantNot  []string
	}{
		{"an admin asks who has no face photo", adminID, "noface", []string{users[1].ID}, []string{users[0].ID}},
		{"an admin asks for the totals", adminID, "stats", []string{"门禁用户", "2"}, nil},
		{"an outsider asks for help", outsiderID, "help", []string{"/help"}, []string{"/noface"}},
		// A reader may read only in the chats listed; a direct chat is not one.
		{"a reader asks in a direct chat", readerID, "noface", []string{"无法在这里使用"}, []string{users[1].ID}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.sentTo(c.who, "m-"))
			ev := menu(c.who, c.key)
			for i := 0; i < 2; i++ {
				if status, body := h.Deliver(ev); status != 200 {
					t.Fatalf("status %d: %s", status, body)
				}
			}
			got := h.waitSent(c.who, "m-", before+1)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("answer lacks %q:\n%s", w, got)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("answer has %q:\n%s", w, got)
				}
			}
		})
	}
	if status, _ := h.Deliver(menu(adminID, "refresh")); status != 200 {
		t.Fatalf("unknown key: status %d", status)
	}
	h.settle()
	if n := len(h.sentTo(adminID, "m-")); n != 2 {
		t.Fatalf("the admin got %d menu answers, want 2: one per event, none for an unknown key", n)
	}
}
