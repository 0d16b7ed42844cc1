package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/cards"
	"acsbot/feishufake"
)

func TestURLVerification(t *testing.T) {
	for _, plain := range []bool{true, false} {
		name := map[bool]string{true: "plain", false: "encrypted"}[plain]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{Plain: plain})
			status, body := h.Deliver(h.Fake.URLVerification("chal-123"))
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			var got struct{ Challenge string }
			if err := json.Unmarshal(body, &got); err != nil || got.Challenge != "chal-123" {
				t.Fatalf("answer %s, want the challenge back", body)
			}
			bad := h.Fake.URLVerification("chal-456")
			bad["token"] = "wrong"
			if status, _ := h.Deliver(bad); status < 400 || status >= 500 {
				t.Fatalf("wrong token: status %d, want 4xx", status)
			}
		})
	}
}

// Each command in its slash, English and Chinese form, in a direct chat and in a group.
func TestCommands(t *testing.T) {
	users := []acs.User{
		{ID: "ou_face_and_card0000000000000000001", Card: 123456, FaceUploaded: true},
		{ID: "ou_noface000000000000000000000000002", Card: 654321},
		{ID: "ou_nocard000000000000000000000000003", FaceUploaded: true},
		{ID: "ou_nothing00000000000000000000000004"},
	}
	h := newHarness(t, harnessOpts{Users: users})
	cases := []struct {
		text      string
		want      []string // each must appear in the reply card
		wantNot   []string // none may appear
		adminOnly bool
	}{
		{text: "/help", want: []string{"/noface", "/stats"}},
		{text: "help", want: []string{"/noface"}},
		{text: "帮助", want: []string{"/noface"}},
		{text: "/noface", want: []string{users[1].ID, users[3].ID}, wantNot: []string{users[0].ID, users[2].ID}},
		{text: "who has no face photo?", want: []string{users[1].ID, users[3].ID}, wantNot: []string{users[0].ID}},
		{text: "谁没有人脸？", want: []string{users[1].ID, users[3].ID}, wantNot: []string{users[2].ID}},
		{text: "/nocard", want: []string{users[2].ID, users[3].ID}, wantNot: []string{users[0].ID, users[1].ID}},
		{text: "who has no card", want: []string{users[2].ID}, wantNot: []string{users[1].ID}},
		{text: "谁没有门禁卡", want: []string{users[2].ID, users[3].ID}, wantNot: []string{users[0].ID}},
		{text: "/stats", want: []string{"4", "50"}},
		{text: "stats", want: []string{"4"}},
		{text: "统计", want: []string{"4"}},
		{text: "/user " + users[1].ID, want: []string{users[1].ID}},
		{text: "/card 654321", want: []string{users[1].ID}, adminOnly: true},
		{text: "卡号 654321", want: []string{users[1].ID}, adminOnly: true},
		{text: "/refresh", want: []string{"4"}, adminOnly: true},
		{text: "刷新", want: []string{"4"}, adminOnly: true},
	}
	for _, c := range cases {
		for _, where := range []struct{ chatType, chat, sender string }{
			{"p2p", "oc_p2p_admin0000000000000000000001", adminID},
			{"group", readerChat, readerID},
		} {
			t.Run(where.chatType+"/"+c.text, func(t *testing.T) {
				ev := h.Say(where.chatType, where.chat, where.sender, c.text)
				reply := h.ReplyTo(messageID(t, ev))
				got := readable(texts(t, reply.Content))
				if c.adminOnly && where.sender != adminID {
					if strings.Contains(got, users[1].ID) {
						t.Fatalf("a reader ran admin command %q: %s", c.text, got)
					}
					return
				}
				for _, w := range c.want {
					if !strings.Contains(got, w) {
						t.Errorf("reply to %q lacks %q:\n%s", c.text, w, got)
					}
				}
				for _, w := range c.wantNot {
					if strings.Contains(got, w) {
						t.Errorf("reply to %q contains %q:\n%s", c.text, w, got)
					}
				}
			})
		}
	}
}

func TestAccess(t *testing.T) {
	users := []acs.User{{ID: "ou_noface000000000000000000000000002", Card: 654321}}
	h := newHarness(t, harnessOpts{Users: users})
	calls := h.Fake.ACSListCalls()

	t.Run("outsider in a direct chat is refused and nothing is read", func(t *testing.T) {
		ev := h.Say("p2p", "oc_p2p_outsider00000000000000000001", outsiderID, "/noface")
		got := texts(t, h.ReplyTo(messageID(t, ev)).Content)
		if strings.Contains(got, users[0].ID) {
			t.Fatalf("outsider saw the directory: %s", got)
		}
		if n := h.Fake.ACSListCalls(); n != calls {
			t.Fatalf("refusal read the directory: %d list calls", n-calls)
		}
	})
	t.Run("member of an unlisted group is refused", func(t *testing.T) {
		ev := h.Say("group", otherChat, readerID, "/stats")
		got := texts(t, h.ReplyTo(messageID(t, ev)).Content)
		if n := h.Fake.ACSListCalls(); n != calls {
			t.Fatalf("refusal read the directory (%d calls): %s", n-calls, got)
		}
	})
	t.Run("card numbers are masked outside an admin's direct chat", func(t *testing.T) {
		ev := h.Say("group", readerChat, adminID, "/user "+users[0].ID)
		got := texts(t, h.ReplyTo(messageID(t, ev)).Content)
		if strings.Contains(got, "654321") || !strings.Contains(readable(got), "****21") {
			t.Fatalf("group reply shows the card number unmasked: %s", got)
		}
		ev = h.Say("p2p", "oc_p2p_admin0000000000000000000001", adminID, "/user "+users[0].ID)
		got = texts(t, h.ReplyTo(messageID(t, ev)).Content)
		if !strings.Contains(got, "654321") {
			t.Fatalf("admin's direct chat should show the full card number: %s", got)
		}
	})
	t.Run("a group message that does not mention the bot is ignored", func(t *testing.T) {
		ev := h.Fake.MessageEvent(feishufake.UserMessage{ChatID: readerChat, ChatType: "group", SenderOpenID: readerID, Text: "/stats"})
		if status, _ := h.Deliver(ev); status != 200 {
			t.Fatalf("status %d", status)
		}
		ctrl := h.Say("group", readerChat, readerID, "/help")
		h.ReplyTo(messageID(t, ctrl))
		if n := h.RepliesTo(messageID(t, ev)); n != 0 {
			t.Fatalf("answered a message for someone else")
		}
	})
}

// Feishu delivers an event again after 15 s, 5 min, 1 h, 6 h, and sometimes twice at
// once; the bot answers once, even across a restart.
func TestDuplicateDeliveries(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ev := h.Fake.MessageEvent(feishufake.UserMessage{ChatID: "oc_p2p_admin0000000000000000000001", ChatType: "p2p", SenderOpenID: adminID, Text: "/stats"})
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body := h.Deliver(ev); status != 200 {
				t.Errorf("concurrent delivery: %d %s", status, body)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 2; i++ {
		if status, _ := h.Deliver(ev); status != 200 {
			t.Fatalf("re-delivery: status %d", status)
		}
	}
	id := messageID(t, ev)
	h.ReplyTo(id)
	h.Restart()
	if status, _ := h.Deliver(ev); status != 200 {
		t.Fatalf("re-delivery after restart: status %d", status)
	}
	// A later command proves the restarted bot is working before we count.
	ctrl := h.Say("p2p", "oc_p2p_admin0000000000000000000001", adminID, "/help")
	h.ReplyTo(messageID(t, ctrl))
	if n := h.RepliesTo(id); n != 1 {
		t.Fatalf("%d replies to one message delivered 5 times, want 1", n)
	}
}

// Thirty people asking at once on a cold cache share one scan.
func TestConcurrentColdQueriesShareOneScan(t *testing.T) {
	const n = 1234
	h := newHarness(t, harnessOpts{Users: feishufake.GenerateUsers(n, 7)})
	h.Fake.SetPageLatency(20 * time.Millisecond)
	var evs []feishufake.Envelope
	for i := 0; i < 30; i++ {
		evs = append(evs, h.Fake.MessageEvent(feishufake.UserMessage{ChatID: readerChat, ChatType: "group", SenderOpenID: readerID, Text: "/noface", MentionBot: true}))
	}
	var wg sync.WaitGroup
	for _, ev := range evs {
		wg.Add(1)
		go func(ev feishufake.Envelope) {
			defer wg.Done()
			if status, _ := h.Deliver(ev); status != 200 {
				t.Errorf("status %d", status)
			}
		}(ev)
	}
	wg.Wait()
	for _, ev := range evs {
		h.ReplyTo(messageID(t, ev))
	}
	if got, want := h.Fake.ACSListCalls(), (n+49)/50; got != want {
		t.Fatalf("%d ACS list calls for 30 concurrent cold queries, want %d", got, want)
	}
}

func TestACSFaultsStillAnswerCorrectly(t *testing.T) {
	users := feishufake.GenerateUsers(260, 3)
	cases := []struct {
		name  string
		fault feishufake.Fault
	}{
		{"invalid page token at page 3", feishufake.Fault{Kind: feishufake.FaultInvalidPageToken, Page: 3, Times: 1}},
		{"rate limited at page 2", feishufake.Fault{Kind: feishufake.FaultRateLimit, Page: 2, Times: 1, ResetSeconds: 1}},
		{"server error at page 4", feishufake.Fault{Kind: feishufake.FaultServerError, Page: 4, Times: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{Users: users})
			h.Fake.InjectACSFault(c.fault)
			ev := h.Say("p2p", "oc_p2p_admin0000000000000000000001", adminID, "/stats")
			got := texts(t, h.ReplyTo(messageID(t, ev)).Content)
			if !strings.Contains(got, "260") {
				t.Fatalf("stats after %s lack the total 260:\n%s", c.name, got)
			}
		})
	}
}

func TestErrorCardWhenACSKeepsFailing(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.Fake.InjectACSFault(feishufake.Fault{Kind: feishufake.FaultPermission})
	ev := h.Say("p2p", "oc_p2p_admin0000000000000000000001", adminID, "/noface")
	got := texts(t, h.ReplyTo(messageID(t, ev)).Content)
	if !strings.Contains(got, "99991672") {
		t.Fatalf("error card does not carry Feishu's code:\n%s", got)
	}
	// The bot is still fine: once ACS recovers the next question is answered.
	h.Fake.ClearFaults()
	ev = h.Say("p2p", "oc_p2p_admin0000000000000000000001", adminID, "/stats")
	if got := texts(t, h.ReplyTo(messageID(t, ev)).Content); !strings.Contains(got, "120") {
		t.Fatalf("stats after recovery lack the total:\n%s", got)
	}
}

// A list longer than one card, in a group: the card is the same for everyone in the
// chat, so Next does not turn it under the other readers. Page 2, answered from the
// cache, comes as a new card under the list, and holds the next PageSize people
// without a face photo and nobody else. In a direct chat the card turns in place.
func TestPagingCallback(t *testing.T) {
	users := feishufake.GenerateUsers(3000, 11)
	h := newHarness(t, harnessOpts{Users: users})
	face := map[string]bool{}
	var noFace []string
	for _, u := range users {
		face[u.ID] = u.FaceUploaded
		if !u.FaceUploaded {
			noFace = append(noFace, u.ID)
		}
	}
	if len(noFace) <= cards.PageSize {
		t.Fatalf("test needs more than one page of people without a face photo, got %d", len(noFace))
	}
	ev := h.Say("group", readerChat, readerID, "/noface")
	reply := h.ReplyTo(messageID(t, ev))
	value := findButtonValue(t, reply.Content, 2)
	calls := h.Fake.ACSListCalls()

	a := h.Click(readerID, readerChat, reply, value)
	if a.Card != nil || !strings.Contains(a.Toast.Content, "新卡片") {
		t.Fatalf("Next in a group answered %+v, want a toast and the list left as it is", a)
	}
	for _, m := range h.Fake.Messages() {
		if m.ID == reply.ID && m.Content != reply.Content {
			t.Fatal("Next in a group turned the list for everyone in it")
		}
	}
	page2 := texts(t, h.ReplyTo(reply.ID).Content)
	listed := 0
	for id, hasFace := range face {
		if strings.Contains(page2, id) {
			listed++
			if hasFace {
				t.Errorf("no-face page 2 lists %s, who has a face photo", id)
			}
		}
	}
	if listed != cards.PageSize {
		t.Errorf("page 2 lists %d people, want %d", listed, cards.PageSize)
	}
	if h.Fake.ACSListCalls() != calls {
		t.Errorf("the callback scanned the directory")
	}

	ev = h.Say("p2p", adminP2P, adminID, "/noface")
	own := h.ReplyTo(messageID(t, ev))
	if a := h.Click(adminID, adminP2P, own, findButtonValue(t, own.Content, 2)); a.Card == nil {
		t.Fatalf("Next in a direct chat answered %+v, want page 2 in place", a)
	}
	if h.RepliesTo(own.ID) != 0 {
		t.Fatal("Next in a direct chat sent a new card")
	}
	outsider := h.Fake.CardActionEvent(feishufake.CardAction{OperatorOpenID: outsiderID, MessageID: reply.ID, ChatID: otherChat, Value: value})
	_, body := h.Deliver(outsider)
	if strings.Contains(string(body), noFace[0]) || !strings.Contains(string(body), "toast") {
		t.Fatalf("an outsider's click got the list: %s", body)
	}
}

// findButtonValue returns the callback value of the button that leads to page.
func findButtonValue(t *testing.T, cardJSON string, page int) map[string]any {
	t.Helper()
	for _, val := range callbackValues(t, cardJSON) {
		if p, ok := val["p"].(float64); ok && int(p) == page {
			return val
		}
	}
	t.Fatalf("no button to page %d in %s", page, cardJSON)
	return nil
}

func TestHealthzAndMetrics(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	resp, err := http.Get(h.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health["status"] != "ok" {
		t.Fatalf("healthz %d %v", resp.StatusCode, health)
	}
	ev := h.Say("p2p", "oc_p2p_admin0000000000000000000001", adminID, "/stats")
	h.ReplyTo(messageID(t, ev))
	h.Deliver(ev) // a duplicate, counted as such
	wants := []string{
		`acsbot_events_received_total{type="im.message.receive_v1"} 2`,
		`acsbot_events_deduped_total 1`,
		`acsbot_commands_total{command="stats",outcome="ok"} 1`,
		`acsbot_acs_calls_total{result="ok"} 3`,
		`acsbot_scan_duration_seconds_count 1`,
		`acsbot_reply_latency_seconds_count 1`,
	}
	// The reply reaches the fake a moment before the bot counts it.
	var b bytes.Buffer
	missing := wants
	for deadline := time.Now().Add(5 * time.Second); len(missing) > 0 && time.Now().Before(deadline); {
		resp, err = http.Get(h.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b.Reset()
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		missing = nil
		for _, want := range wants {
			if !strings.Contains(b.String(), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, want := range missing {
		t.Errorf("metrics lack %q", want)
	}
	for _, secret := range []string{h.Config.Feishu.AppSecret.Value(), verifyTok, encryptKey} {
		for _, body := range []string{b.String(), stringify(health)} {
			if strings.Contains(body, secret) {
				t.Fatalf("a secret leaked into healthz or metrics")
			}
		}
	}
}

func stringify(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// An ACS update event changes the cached snapshot in place: no new scan.
func TestUserUpdatedEventAppliesInPlace(t *testing.T) {
	users := []acs.User{{ID: "ou_noface000000000000000000000000002", Card: 654321}}
	h := newHarness(t, harnessOpts{Users: users})
	ev := h.Say("p2p", "oc_p2p_admin0000000000000000000001", adminID, "/noface")
	if got := texts(t, h.ReplyTo(messageID(t, ev)).Content); !strings.Contains(got, users[0].ID) {
		t.Fatalf("first list lacks the user: %s", got)
	}
	calls := h.Fake.ACSListCalls()
	updated := users[0]
	updated.FaceUploaded = true
	h.Fake.SetUser(updated)
	if status, body := h.Deliver(h.Fake.UserUpdatedEvent(updated)); status != 200 {
		t.Fatalf("update event: %d %s", status, body)
	}
	ev = h.Say("p2p", "oc_p2p_admin0000000000000000000001", adminID, "/noface")
	if got := texts(t, h.ReplyTo(messageID(t, ev)).Content); strings.Contains(got, users[0].ID) {
		t.Fatalf("user still listed after uploading a face photo: %s", got)
	}
	if h.Fake.ACSListCalls() != calls {
		t.Fatalf("the update caused a scan")
	}
}

// A command whose reply cannot be sent (Feishu answering 5xx) stays recorded; after a
// restart, once Feishu works again, it is answered: nothing acknowledged is lost.
func TestPendingWorkResumesAfterRestart(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.Fake.InjectMessageFault(feishufake.MessageFault{HTTPStatus: 500, Code: 1490001})
	ev := h.Say("p2p", "oc_p2p_admin0000000000000000000001", adminID, "/stats")
	id := messageID(t, ev)
	h.Stop()
	if n := h.RepliesTo(id); n != 0 {
		t.Fatalf("%d replies while Feishu was failing", n)
	}
	h.Fake.ClearFaults()
	h.Start()
	got := texts(t, h.ReplyTo(id).Content)
	if !strings.Contains(got, "120") {
		t.Fatalf("resumed reply lacks the total: %s", got)
	}
	if n := h.RepliesTo(id); n != 1 {
		t.Fatalf("%d replies, want 1", n)
	}
}

// "/user @someone" and "查询 @某人" look the mentioned person up, in a direct chat and
// in a group where the bot is mentioned too.
func TestUserByMention(t *testing.T) {
	person := acs.User{ID: "ou_person00000000000000000000000009", Card: 777888, FaceUploaded: true}
	h := newHarness(t, harnessOpts{Users: []acs.User{person, {ID: "ou_other000000000000000000000000008"}}})
	for _, c := range []struct{ chatType, chat, text string }{
		{"p2p", "oc_p2p_admin0000000000000000000001", "/user @_user_5"},
		{"p2p", "oc_p2p_admin0000000000000000000001", "查询 @_user_5"},
		{"group", readerChat, "/user @_user_5"},
		{"group", readerChat, "查询 @_user_5"},
	} {
		t.Run(c.chatType+"/"+c.text, func(t *testing.T) {
			ev := h.Fake.MessageEvent(feishufake.UserMessage{
				ChatID: c.chat, ChatType: c.chatType, SenderOpenID: adminID, Text: c.text,
				Mentions:   []feishufake.Mention{{Key: "@_user_5", OpenID: person.ID, Name: "Person"}},
				MentionBot: c.chatType == "group",
			})
			if status, body := h.Deliver(ev); status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			got := texts(t, h.ReplyTo(messageID(t, ev)).Content)
			if !strings.Contains(got, person.ID) || strings.Contains(got, "ou_other000000000000000000000000008") {
				t.Fatalf("reply does not describe the mentioned person:\n%s", got)
			}
		})
	}
}
