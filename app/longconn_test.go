package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/bottest"
	"acsbot/cards"
	"acsbot/feishufake"
)

// The bot in its default mode: events and card clicks come over Feishu's long
// connection, which the fake serves with the SDK's own frames. These tests cover
// what the mode changes; the rest of the suite runs the webhook.

// wsHarness is the harness with the bot on the long connection: Say, Ask and
// Click push frames instead of posting to /webhook/*.
type wsHarness struct {
	*harness
}

// newWSHarness starts the bot in websocket mode against a fake that pushes an
// unacknowledged event again after repushAfter, and waits for the connection.
func newWSHarness(t testing.TB, o harnessOpts, repushAfter time.Duration) *wsHarness {
	t.Helper()
	o.LongConnection, o.RepushAfter = true, repushAfter
	h := newHarness(t, o)
	if !h.Config.WebSocket() {
		t.Fatal("the kit's long-connection bot is not on the long connection")
	}
	return &wsHarness{h}
}

// waitUp waits until the bot's /healthz says the long connection is up.
func (h *wsHarness) waitUp() {
	h.t.Helper()
	h.Eventually("the long connection", func() bool {
		status, body := h.Health()
		return status == http.StatusOK && body["long_connection"] == "up"
	})
}

// pushRaw pushes a payload once and returns the ack.
func (h *wsHarness) pushRaw(payload []byte) feishufake.WSAck {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := h.Fake.PushRaw(ctx, payload)
	if err != nil {
		h.t.Fatalf("push raw: %v", err)
	}
	return ack
}

// click plays a button click over the long connection and decodes the answer.
func (h *wsHarness) click(operator, messageID, chatID string, value map[string]any) (feishufake.ClickResult, bottest.ClickAnswer) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := h.Fake.ClickWS(ctx, feishufake.CardAction{OperatorOpenID: operator, MessageID: messageID, ChatID: chatID, Value: value})
	if err != nil {
		h.t.Fatalf("click: %v (answer %s)", err, res.Answer)
	}
	var a bottest.ClickAnswer
	if err := json.Unmarshal(res.Answer, &a); err != nil {
		h.t.Fatalf("click answer %s: %v", res.Answer, err)
	}
	return res, a
}

// metrics returns the bot's /metrics text.
func (h *wsHarness) metrics() string {
	h.t.Helper()
	resp, err := http.Get(h.URL() + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

// Commands over the long connection: slash, English and Chinese, in a direct chat
// and in a group, answered as on the webhook.
func TestLongConnCommands(t *testing.T) {
	users := []acs.User{
		{ID: "ou_face_and_card0000000000000000001", Card: 123456, FaceUploaded: true},
		{ID: "ou_noface000000000000000000000000002", Card: 654321},
		{ID: "ou_nocard000000000000000000000000003", FaceUploaded: true},
		{ID: "ou_nothing00000000000000000000000004"},
	}
	h := newWSHarness(t, harnessOpts{Users: users}, time.Second)
	cases := []struct {
		text string
		want []string
	}{
		{"/help", []string{"/noface", "/stats"}},
		{"help", []string{"/noface"}},
		{"帮助", []string{"/noface"}},
		{"/noface", []string{users[1].ID, users[3].ID}},
		{"who has no face photo?", []string{users[1].ID, users[3].ID}},
		{"谁没有人脸？", []string{users[1].ID, users[3].ID}},
		{"who has no card", []string{users[2].ID}},
		{"谁没有门禁卡", []string{users[2].ID, users[3].ID}},
		{"/stats", []string{"4"}},
	}
	for _, c := range cases {
		for _, where := range []struct{ chatType, chat, sender string }{
			{"p2p", adminP2P, adminID},
			{"group", readerChat, readerID},
		} {
			t.Run(where.chatType+"/"+c.text, func(t *testing.T) {
				got := h.Ask(where.chatType, where.chat, where.sender, c.text)
				for _, w := range c.want {
					if !strings.Contains(got, w) {
						t.Errorf("reply to %q lacks %q:\n%s", c.text, w, got)
					}
				}
			})
		}
	}
	if got := h.Ask("group", otherChat, outsiderID, "/noface"); strings.Contains(got, users[1].ID) {
		t.Errorf("an outsider got the list over the long connection:\n%s", got)
	}
}

// A page button answers with the next page in the ack, from the cache, as Feishu
// carries a click over the long connection: an event frame, no user_id. (In a
// direct chat the page turns in place; a group's is TestPagingCallback's.)
func TestLongConnPagingClick(t *testing.T) {
	users := feishufake.GenerateUsers(3000, 11)
	h := newWSHarness(t, harnessOpts{Users: users}, time.Second)
	ev := h.Say("p2p", adminP2P, adminID, "/noface")
	reply := h.ReplyTo(messageID(t, ev))
	value := findButtonValue(t, reply.Content, 2)
	calls := h.Fake.ACSListCalls()

	res, a := h.click(adminID, reply.ID, adminP2P, value)
	if a.Card == nil || !res.Updated {
		t.Fatalf("the click was not answered with a card: %s", res.Answer)
	}
	page2 := texts(t, string(a.Card.Data))
	listed := 0
	for _, u := range users {
		if strings.Contains(page2, u.ID) {
			listed++
			if u.FaceUploaded {
				t.Errorf("no-face page 2 lists %s, who has a face photo", u.ID)
			}
		}
	}
	if listed != cards.PageSize {
		t.Errorf("page 2 lists %d people, want %d", listed, cards.PageSize)
	}
	if h.Fake.ACSListCalls() != calls {
		t.Error("the click scanned the directory")
	}
	if res, a := h.click(outsiderID, reply.ID, otherChat, value); a.Card != nil || a.Toast.Type == "" {
		t.Errorf("an outsider's click got %s", res.Answer)
	}
}

// The reminder round starts from the confirm card's Send button clicked over the
// long connection, once.
func TestLongConnReminderConfirm(t *testing.T) {
	users := remindUsers(3)
	h := newWSHarness(t, harnessOpts{Users: users}, time.Second)
	ev := h.Say("p2p", adminP2P, adminID, "/remind noface")
	msg := h.ReplyTo(messageID(t, ev))
	var send map[string]any
	for _, val := range callbackValues(t, msg.Content) {
		if val["a"] == "remind_send" {
			send = val
		}
	}
	if send == nil {
		t.Fatalf("no Send button: %s", msg.Content)
	}
	if _, a := h.click(readerID, msg.ID, adminP2P, send); a.Toast.Type != "error" {
		t.Fatalf("a reader's click was not refused: %+v", a)
	}
	if _, a := h.click(adminID, msg.ID, adminP2P, send); a.Card == nil || !strings.Contains(string(a.Card.Data), "正在发送提醒") {
		t.Fatalf("Send did not turn the card into a progress card: %+v", a)
	}
	if got := h.result(msg); !strings.Contains(got, "**3**\n已发送") {
		t.Errorf("result card does not count 3 sent:\n%s", got)
	}
	if _, a := h.click(adminID, msg.ID, adminP2P, send); a.Card != nil {
		t.Fatalf("a second click started a round: %+v", a)
	}
	for _, u := range noFaceOf(users) {
		if n := h.reminders()[u.ID]; n != 1 {
			t.Errorf("%s got %d reminders, want 1", u.ID, n)
		}
	}
}

// An event pushed again is answered once: on the same connection, after the fake
// dropped it and the SDK reconnected, and after a restart.
func TestLongConnRepushAnsweredOnce(t *testing.T) {
	h := newWSHarness(t, harnessOpts{}, time.Second)
	ev := h.Fake.MessageEvent(feishufake.UserMessage{ChatID: adminP2P, ChatType: "p2p", SenderOpenID: adminID, Text: "/stats"})
	h.Push(ev)
	h.Push(ev)
	id := messageID(t, ev)
	h.ReplyTo(id)

	if n := h.Fake.DropWSConnections(); n != 1 {
		t.Fatalf("dropped %d connections, want 1", n)
	}
	h.Eventually("a new connection", func() bool { open, total := h.Fake.WSConnections(); return open == 1 && total == 2 })
	h.Push(ev)

	h.Restart()
	(&wsHarness{h.harness}).waitUp()
	h.Push(ev)
	ctrl := h.Say("p2p", adminP2P, adminID, "/help")
	h.ReplyTo(messageID(t, ctrl))
	if n := h.RepliesTo(id); n != 1 {
		t.Fatalf("%d replies to one message pushed 4 times, want 1", n)
	}
}

// A dropped connection comes back by itself: the state changes are logged once
// each, counted, and events flow again.
func TestLongConnReconnects(t *testing.T) {
	logs := &logBuffer{}
	h := newWSHarness(t, harnessOpts{Logs: logs}, time.Second)
	if !strings.Contains(h.metrics(), "acsbot_long_connection_up 1") {
		t.Errorf("metrics do not say the connection is up:\n%s", h.metrics())
	}
	for i := 1; i <= 2; i++ {
		h.Fake.DropWSConnections()
		h.Eventually("a new connection", func() bool { open, total := h.Fake.WSConnections(); return open == 1 && total == i+1 })
		h.waitUp()
	}
	h.Eventually("the reconnects counted", func() bool {
		m := h.metrics()
		return strings.Contains(m, "acsbot_long_connection_reconnects_total 2") && strings.Contains(m, "acsbot_long_connection_up 1")
	})
	if got := h.Ask("p2p", adminP2P, adminID, "/help"); !strings.Contains(got, "/noface") {
		t.Errorf("no help after reconnecting: %s", got)
	}
	h.Stop()
	out := logs.String()
	for line, want := range map[string]int{
		`msg="long connection up"`:       1,
		`msg="long connection down"`:     2,
		`msg="long connection up again"`: 2,
		`msg="long connection closed"`:   1,
	} {
		if n := strings.Count(out, line); n != want {
			t.Errorf("%s logged %d times, want %d:\n%s", line, n, want, out)
		}
	}
	for _, s := range []string{h.Config.Feishu.AppSecret.Value(), "ticket="} {
		if strings.Contains(out, s) {
			t.Errorf("the log shows %q:\n%s", s, out)
		}
	}
}

// In websocket mode nothing on the HTTP port takes events, and /healthz names the
// connection.
func TestLongConnHTTPServesNoWebhook(t *testing.T) {
	h := newWSHarness(t, harnessOpts{}, time.Second)
	for _, path := range []string{"/webhook/event", "/webhook/card"} {
		status, _, err := h.Fake.Deliver(context.Background(), h.URL()+path, h.Fake.URLVerification("c1"))
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusNotFound {
			t.Errorf("POST %s: status %d, want 404", path, status)
		}
	}
	status, body := h.Health()
	if status != http.StatusOK || body["status"] != "ok" || body["long_connection"] != "up" {
		t.Errorf("healthz %d %v", status, body)
	}
}

// What Feishu would not push, or pushes for another app, is acknowledged with the
// SDK's 500 and never answered; the connection stays up and the next command is
// answered. A header without a verification token is fine over the long connection.
func TestLongConnHostileFrames(t *testing.T) {
	// PushRaw waits this long for each ack: a 2 MB event takes a while under -race.
	h := newWSHarness(t, harnessOpts{}, 5*time.Second)
	marshal := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	say := func(text string) feishufake.Envelope {
		return h.Fake.MessageEvent(feishufake.UserMessage{ChatID: adminP2P, ChatType: "p2p", SenderOpenID: adminID, Text: text})
	}
	foreign := say("/stats")
	foreign.Header.AppID = "cli_someone_else"
	huge := say("/stats " + strings.Repeat("x", 2<<20))
	noBody := say("/stats")
	noBody.Event = nil
	unknown := h.Fake.Event("im.message.reaction.created_v1", map[string]any{"message_id": "om_1"})

	cases := []struct {
		name    string
		payload []byte
		id      string // the message id that must get no reply; "" when none
	}{
		{"garbage JSON", []byte(`{"schema":"2.0","header":{"event_type":`), ""},
		{"not JSON at all", []byte("\x00\xffhello"), ""},
		{"unknown event type", marshal(unknown), ""},
		{"another app's event", marshal(foreign), messageID(t, foreign)},
		{"an oversized event", marshal(huge), messageID(t, huge)},
		{"an event without its body", marshal(noBody), ""},
	}
	for _, c := range cases {
		if ack := h.pushRaw(c.payload); ack.Code != http.StatusInternalServerError {
			t.Errorf("%s: ack %+v, want code 500", c.name, ack)
		}
	}
	noToken := say("/help")
	noToken.Header.Token = ""
	h.Push(noToken)
	if got := readable(texts(t, h.ReplyTo(messageID(t, noToken)).Content)); !strings.Contains(got, "/noface") {
		t.Errorf("no help for an event without a token: %s", got)
	}
	for _, c := range cases {
		if c.id != "" && h.RepliesTo(c.id) != 0 {
			t.Errorf("%s was answered", c.name)
		}
	}
	if open, total := h.Fake.WSConnections(); open != 1 || total != 1 {
		t.Errorf("connections open %d, total %d: a frame cost the connection", open, total)
	}
	m := h.metrics()
	for _, want := range []string{`acsbot_events_rejected_total{reason="app_id"} 1`, `acsbot_events_rejected_total{reason="too_large"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// BenchmarkLongConnAck measures how long Feishu waits for the ack of a pushed
// event (frame written → ack read by the fake) while the ACS API is slow (200 ms a
// page, cold directory): like the webhook, the long connection must not wait for
// the directory. Compare with BenchmarkWebhookAck.
func BenchmarkLongConnAck(b *testing.B) {
	h := newWSHarness(b, harnessOpts{Users: feishufake.GenerateUsers(2000, 5)}, 15*time.Second)
	defer h.Stop()
	h.Fake.SetPageLatency(200 * time.Millisecond)
	evs := make([]feishufake.Envelope, b.N)
	for i := range evs {
		evs[i] = h.Fake.MessageEvent(feishufake.UserMessage{ChatID: readerChat, ChatType: "group", SenderOpenID: readerID, Text: "/noface", MentionBot: true})
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		h.Push(evs[i])
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	h.Fake.SetPageLatency(0) // let the scan behind the commands finish before the stop
	reportPercentiles(b, lat)
}
