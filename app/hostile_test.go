package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"

	"acsbot/bottest"
	"acsbot/feishufake"
)

// logBuffer collects the bot's log (the kit's).
type logBuffer = bottest.Log

// tenantToken is the shape of the fake's tenant access tokens.
var tenantToken = regexp.MustCompile(`t-[0-9a-f]{40}`)

// checkLog fails when the bot's log holds a secret, or a line that is not one slog
// record (an unescaped CR, LF or NUL from a request would start a forged line).
func checkLog(t *testing.T, h *harness, log string) {
	t.Helper()
	for _, secret := range []string{verifyTok, encryptKey, h.Config.Feishu.AppSecret.Value()} {
		if strings.Contains(log, secret) {
			t.Errorf("log holds a secret (%d bytes)", len(secret))
		}
	}
	if tok := tenantToken.FindString(log); tok != "" {
		t.Errorf("log holds a tenant access token")
	}
	for i, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if line != "" && !strings.HasPrefix(line, "time=") || strings.ContainsAny(line, "\r\x00") {
			t.Errorf("log line %d is not one record: %q", i+1, line)
		}
	}
}

// rowCounts counts what the bot recorded in the tables a request can add to: the
// event inbox, the one-shot button claims, the reminder claims and the subscriptions.
func (h *harness) rowCounts() map[string]int {
	h.t.Helper()
	db, err := sql.Open("sqlite", h.Config.Store.Path)
	if err != nil {
		h.t.Fatalf("open store: %v", err)
	}
	defer db.Close()
	out := map[string]int{}
	for _, table := range []string{"events", "actions", "reminders", "subscriptions"} {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			h.t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

// encrypted wraps plain as Feishu does with an encrypt key: {"encrypt": base64}.
func encrypted(t testing.TB, key string, plain []byte) []byte {
	t.Helper()
	enc, err := larkcore.EncryptedEventMsg(context.Background(), plain, key)
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	b, err := json.Marshal(map[string]string{"encrypt": enc})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedHeader is what Feishu sends with body: JSON content type and a signature
// over body made with key at time at.
func signedHeader(key string, body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := "nonce" + ts
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set(larkevent.EventRequestTimestamp, ts)
	h.Set(larkevent.EventRequestNonce, nonce)
	h.Set(larkevent.EventSignature, larkevent.Signature(ts, nonce, key, string(body)))
	return h
}

// post sends body to the bot's path with header and returns the status and answer.
// length is the declared Content-Length: -1 sends the body chunked.
func (h *harness) post(path string, body io.Reader, length int64, header http.Header) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, h.URL()+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.ContentLength = length
	if length < 0 {
		req.ContentLength = 0 // unknown: the transport sends it chunked
	}
	req.Header = header
	// A client of its own: the server may close the connection under it.
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, answer, err
}

// zeros is an endless-looking body of n zero bytes that counts what was read of it.
type zeros struct {
	left atomic.Int64
	read atomic.Int64
}

func newZeros(n int64) *zeros {
	z := &zeros{}
	z.left.Store(n)
	return z
}

func (z *zeros) Read(p []byte) (int, error) {
	left := z.left.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), left)
	clear(p[:n])
	z.left.Add(-n)
	z.read.Add(n)
	return int(n), nil
}

// hostileResult is what one hostile request got back.
type hostileResult struct {
	status    int
	body      []byte
	messageID string // the message whose reply the row expects; "" for none
}

// TestHostileWebhookRequests throws at the real server what someone who found its
// public URL might: garbage, huge and mislabelled bodies, broken encryption, events
// that are not for this app, replays, and chat text built to break headers, logs and
// cards. For each: the status, what is recorded (nothing for a refusal), what is
// replied, and that the log stays free of secrets and forged lines.
func TestHostileWebhookRequests(t *testing.T) {
	logs := &logBuffer{}
	h := newHarness(t, harnessOpts{Logs: logs})
	h.Ask("p2p", adminP2P, adminID, "/stats") // a warm directory: answers come at once

	stats := func() feishufake.Envelope {
		return h.Fake.MessageEvent(feishufake.UserMessage{ChatID: adminP2P, ChatType: "p2p", SenderOpenID: adminID, Text: "/stats"})
	}
	marshal := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// signed sends body as Feishu frames it: signed, JSON.
	signed := func(t *testing.T, path string, body []byte) hostileResult {
		status, answer, err := h.post(path, bytes.NewReader(body), int64(len(body)), signedHeader(encryptKey, body, time.Now()))
		if err != nil {
			t.Fatalf("post: %v", err)
		}
		return hostileResult{status: status, body: answer}
	}
	// sealed sends plain JSON encrypted and signed, as Feishu would.
	sealed := func(t *testing.T, path string, plain []byte) hostileResult {
		return signed(t, path, encrypted(t, encryptKey, plain))
	}
	deliver := func(t *testing.T, path string, payload any, opts ...feishufake.RequestOption) hostileResult {
		status, body, err := h.Fake.Deliver(context.Background(), h.URL()+path, payload, opts...)
		if err != nil {
			t.Fatalf("deliver: %v", err)
		}
		return hostileResult{status: status, body: body}
	}
	// ask sends a chat message from the admin and names it for the reply check.
	ask := func(text string) func(t *testing.T) hostileResult {
		return func(t *testing.T) hostileResult {
			ev := h.Fake.MessageEvent(feishufake.UserMessage{ChatID: adminP2P, ChatType: "p2p", SenderOpenID: adminID, Text: text})
			r := deliver(t, "/webhook/event", ev)
			r.messageID = messageID(t, ev)
			return r
		}
	}
	huge := func(length int64) func(t *testing.T) hostileResult {
		return func(t *testing.T) hostileResult {
			body := newZeros(100 << 20)
			status, answer, err := h.post("/webhook/event", body, length, signedHeader(encryptKey, nil, time.Now()))
			if err != nil {
				t.Fatalf("post: %v", err)
			}
			// What the client managed to write before the server hung up: the limit
			// plus socket buffers, never the 100 MB.
			if n := body.read.Load(); n > 16<<20 {
				t.Errorf("the server took %d MB of the body", n>>20)
			}
			return hostileResult{status: status, body: answer}
		}
	}
	withType := func(contentType string) func(t *testing.T) hostileResult {
		return func(t *testing.T) hostileResult {
			body := encrypted(t, encryptKey, marshal(stats()))
			header := signedHeader(encryptKey, body, time.Now())
			header.Del("Content-Type")
			if contentType != "" {
				header.Set("Content-Type", contentType)
			}
			status, answer, err := h.post("/webhook/event", bytes.NewReader(body), int64(len(body)), header)
			if err != nil {
				t.Fatalf("post: %v", err)
			}
			return hostileResult{status: status, body: answer}
		}
	}
	otherApp := stats()
	otherApp.Header.AppID = "cli_someone_else"
	wrongToken := stats()
	wrongToken.Header.Token = "not-the-token"
	unknownType := h.Fake.Event(`evil.type_v1"}<script>`, map[string]any{"x": 1})

	cases := []struct {
		name   string
		send   func(t *testing.T) hostileResult
		status int
		// recorded is what the request adds to the store, by table; nil: nothing.
		recorded map[string]int
		// reply checks the card the bot replied with; nil: the bot sends nothing.
		reply func(t *testing.T, card string)
		// answer, when set, checks the body of the HTTP answer.
		answer func(t *testing.T, body []byte)
	}{
		{name: "empty body, unsigned", status: 401, send: func(t *testing.T) hostileResult {
			status, body, err := h.post("/webhook/event", http.NoBody, 0, http.Header{"Content-Type": {"application/json"}})
			if err != nil {
				t.Fatal(err)
			}
			return hostileResult{status: status, body: body}
		}},
		{name: "empty body, signed", status: 400, send: func(t *testing.T) hostileResult { return signed(t, "/webhook/event", nil) }},
		{name: "signed garbage", status: 400, send: func(t *testing.T) hostileResult {
			return signed(t, "/webhook/event", []byte("\x00\xff{{{not json"))
		}},
		{name: "100 MB body, declared", status: 413, send: huge(100 << 20)},
		{name: "100 MB body, chunked", status: 413, send: huge(-1)},
		{name: "content type text/plain", status: 415, send: withType("text/plain")},
		{name: "content type form", status: 415, send: withType("application/x-www-form-urlencoded")},
		{name: "no content type", status: 415, send: withType("")},
		{name: "truncated encrypt field", status: 400, send: func(t *testing.T) hostileResult {
			var env map[string]string
			if err := json.Unmarshal(encrypted(t, encryptKey, marshal(stats())), &env); err != nil {
				t.Fatal(err)
			}
			return signed(t, "/webhook/event", marshal(map[string]string{"encrypt": env["encrypt"][:len(env["encrypt"])/2]}))
		}},
		{name: "encrypt field not base64", status: 400, send: func(t *testing.T) hostileResult {
			return signed(t, "/webhook/event", []byte(`{"encrypt":"%%% not base64 %%%"}`))
		}},
		{name: "encrypt field of the wrong type", status: 400, send: func(t *testing.T) hostileResult {
			return signed(t, "/webhook/event", []byte(`{"encrypt":{"a":1}}`))
		}},
		{name: "valid encryption of invalid JSON", status: 400, send: func(t *testing.T) hostileResult {
			return sealed(t, "/webhook/event", []byte(`{"schema":"2.0","header":{"event_type":"im.message.receive_v1"`))
		}},
		{name: "valid encryption of a JSON array", status: 400, send: func(t *testing.T) hostileResult {
			return sealed(t, "/webhook/event", []byte(`[1,2,3]`))
		}},
		{name: "valid encryption of an empty object", status: 200, send: func(t *testing.T) hostileResult {
			return sealed(t, "/webhook/event", []byte(`{}`))
		}},
		{name: "message event with fields of the wrong types", status: 400, send: func(t *testing.T) hostileResult {
			ev := stats()
			ev.Event = map[string]any{"message": []int{1, 2}, "sender": "me"}
			return sealed(t, "/webhook/event", marshal(ev))
		}},
		{name: "message event without a message", status: 400, send: func(t *testing.T) hostileResult {
			ev := stats()
			ev.Event = map[string]any{}
			return sealed(t, "/webhook/event", marshal(ev))
		}},
		{name: "valid event of an unknown type", status: 200, send: func(t *testing.T) hostileResult {
			return deliver(t, "/webhook/event", unknownType)
		}, answer: func(t *testing.T, body []byte) {
			if string(body) != `{"msg":"ignored"}` {
				t.Errorf("answer %s, want {\"msg\":\"ignored\"} without the event type echoed", body)
			}
		}},
		{name: "event for another app_id", status: 403, send: func(t *testing.T) hostileResult {
			return deliver(t, "/webhook/event", otherApp)
		}},
		{name: "wrong verification token", status: 403, send: func(t *testing.T) hostileResult {
			return deliver(t, "/webhook/event", wrongToken)
		}},
		{name: "forged signature", status: 401, send: func(t *testing.T) hostileResult {
			return deliver(t, "/webhook/event", stats(), feishufake.BadSignature())
		}},
		{name: "replay signed 13 hours ago", status: 401, send: func(t *testing.T) hostileResult {
			return deliver(t, "/webhook/event", stats(), feishufake.AtTime(time.Now().Add(-13*time.Hour)))
		}},
		{name: "signed 10 minutes in the future", status: 401, send: func(t *testing.T) hostileResult {
			return deliver(t, "/webhook/event", stats(), feishufake.AtTime(time.Now().Add(10*time.Minute)))
		}},
		{name: "unencrypted, unsigned event", status: 401, send: func(t *testing.T) hostileResult {
			return deliver(t, "/webhook/event", stats(), feishufake.Plain())
		}},
		{
			name: "replay inside the window of an answered request", status: 200,
			send: func(t *testing.T) hostileResult {
				ev := stats()
				req, err := h.Fake.NewRequest(context.Background(), h.URL()+"/webhook/event", ev)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(req.Body)
				if err != nil {
					t.Fatal(err)
				}
				var last hostileResult
				for range 2 { // the very same bytes and headers twice
					status, answer, err := h.post("/webhook/event", bytes.NewReader(body), int64(len(body)), req.Header.Clone())
					if err != nil {
						t.Fatal(err)
					}
					last = hostileResult{status: status, body: answer, messageID: messageID(t, ev)}
					h.ReplyTo(last.messageID)
				}
				return last
			},
			recorded: map[string]int{"events": 1},
			reply:    func(t *testing.T, card string) {},
		},
		{
			name: "header injection in the chat text", status: 200,
			send:     ask("/user ou_x\r\nX-Injected: yes\u0000\r\n\r\nHTTP/1.1 200 OK"),
			recorded: map[string]int{"events": 1},
			reply: func(t *testing.T, card string) {
				if strings.Contains(card, `\r`) || strings.Contains(card, `\u0000`) {
					t.Errorf("card carries CR or NUL: %s", card)
				}
				if regexp.MustCompile(`(?m)^(X-Injected|HTTP/1.1)`).MatchString(texts(t, card)) {
					t.Errorf("injected text starts a line of the card: %s", card)
				}
				for _, c := range h.Fake.Calls() {
					if strings.Contains(c.Path+c.Query, "Injected") {
						t.Errorf("chat text reached a request line: %s %s?%s", c.Method, c.Path, c.Query)
					}
				}
			},
		},
		{
			name: "10,000-character command", status: 200,
			send:     ask("/user " + strings.Repeat("x", 10_000)),
			recorded: map[string]int{"events": 1},
			reply: func(t *testing.T, card string) {
				if len(card) > 30<<10 {
					t.Errorf("card is %d bytes, over Feishu's 30 KB", len(card))
				}
				if !strings.Contains(texts(t, card), "…") || strings.Contains(card, strings.Repeat("x", 201)) {
					t.Errorf("the echoed id is not clipped: %d bytes", len(card))
				}
			},
		},
		{
			name: "10,000-character unknown text", status: 200,
			send:     ask(strings.Repeat("谁没有", 3_334)[:10_000]),
			recorded: map[string]int{"events": 1},
			reply: func(t *testing.T, card string) {
				if len(card) > 30<<10 {
					t.Errorf("card is %d bytes, over Feishu's 30 KB", len(card))
				}
				if !strings.Contains(readable(texts(t, card)), "/noface") {
					t.Errorf("not the help card: %s", card)
				}
			},
		},
		{
			name: "markdown and <at> injection echoed into a card", status: 200,
			send:     ask("/user **x** <at id=all></at> [a](javascript:alert(1))"),
			recorded: map[string]int{"events": 1},
			reply: func(t *testing.T, card string) {
				for _, raw := range []string{"<at", "</at>", "**x**", "[a](", "](javascript"} {
					if strings.Contains(texts(t, card), raw) {
						t.Errorf("card shows %q unescaped: %s", raw, card)
					}
				}
				// The person still reads what was typed.
				if !strings.Contains(readable(texts(t, card)), "**x** <at id=all></at> [a](javascript:alert(1))") {
					t.Errorf("card does not echo the text escaped: %s", card)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, sent := h.rowCounts(), len(h.Fake.Messages())
			logAt := len(logs.String())
			r := c.send(t)
			if r.status != c.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, c.status)
			}
			if c.answer != nil {
				c.answer(t, r.body)
			}
			if c.reply != nil {
				reply := h.ReplyTo(r.messageID)
				c.reply(t, reply.Content)
				if n := h.RepliesTo(r.messageID); n != 1 {
					t.Errorf("%d replies, want 1", n)
				}
			} else if n := len(h.Fake.Messages()) - sent; n != 0 {
				t.Errorf("%d messages sent, want none", n)
			}
			after := h.rowCounts()
			for table, n := range after {
				if got := n - before[table]; got != c.recorded[table] {
					t.Errorf("%s: %d rows added, want %d", table, got, c.recorded[table])
				}
			}
			checkLog(t, h, logs.String()[logAt:])
		})
	}
}

// TestHostileCardCallbacks sends card callbacks the bot did not make, or from the
// wrong person, or twice. A callback is signed like an event, so these come from a
// holder of the keys or a client replaying one; none may do more than the button the
// bot drew would.
func TestHostileCardCallbacks(t *testing.T) {
	logs := &logBuffer{}
	h := newHarness(t, harnessOpts{Logs: logs})
	h.Ask("p2p", adminP2P, adminID, "/stats")
	confirm := h.Say("p2p", adminP2P, adminID, "/remind noface")
	card := h.ReplyTo(messageID(t, confirm))
	var send map[string]any
	for _, v := range callbackValues(t, card.Content) {
		if v["a"] == "remind_send" {
			send = v
		}
	}
	if send == nil {
		t.Fatal("no Send button on the confirm card")
	}
	click := func(operator, chat string, value map[string]any) feishufake.Envelope {
		return h.Fake.CardActionEvent(feishufake.CardAction{OperatorOpenID: operator, MessageID: card.ID, ChatID: chat, Value: value})
	}
	noFace := 0
	for _, u := range h.Fake.Users() {
		if !u.FaceUploaded {
			noFace++
		}
	}
	// dms counts the reminders sent so far.
	dms := func() int {
		n := 0
		for _, m := range h.Fake.Messages() {
			if m.Kind == "create" && m.ReceiveIDType == "open_id" {
				n++
			}
		}
		return n
	}
	type answer struct {
		Toast *struct {
			Type    string `json:"type"`
			Content string `json:"content"`
		} `json:"toast"`
		Card *struct {
			Data any `json:"data"`
		} `json:"card"`
	}
	toastWith := func(want string) func(t *testing.T, a answer) {
		return func(t *testing.T, a answer) {
			if a.Toast == nil || !strings.Contains(a.Toast.Content, want) || a.Card != nil {
				t.Errorf("answer %+v, want only a toast with %q", a, want)
			}
		}
	}
	adminSend := click(adminID, adminP2P, send)
	cases := []struct {
		name     string
		events   []any // delivered in turn; the last answer is checked
		status   int
		recorded map[string]int
		check    func(t *testing.T, a answer)
		// reminders is how many direct messages the clicks send in all.
		reminders int
	}{
		{"page number below 1", []any{click(adminID, adminP2P, map[string]any{"a": "page", "q": "noface", "p": -1})}, 200, nil, toastWith("不再可用"), 0},
		{"page number not a number", []any{click(adminID, adminP2P, map[string]any{"a": "page", "q": "noface", "p": "1; DROP TABLE events"})}, 200, nil, toastWith("不再可用"), 0},
		{"list kind the bot never draws", []any{click(adminID, adminP2P, map[string]any{"a": "page", "q": "secrets", "p": 1})}, 200, nil, toastWith("不再可用"), 0},
		{"unknown action", []any{click(adminID, adminP2P, map[string]any{"a": "delete_everyone"})}, 200, nil, toastWith("不再可用"), 0},
		{"value that is not an object", []any{func() feishufake.Envelope {
			ev := click(adminID, adminP2P, nil)
			ev.Event.(map[string]any)["action"] = map[string]any{"tag": "button", "value": "junk"}
			return ev
		}()}, 400, nil, nil, 0},
		{"outsider pages a list", []any{click(outsiderID, otherChat, map[string]any{"a": "page", "q": "noface", "p": 2})}, 200, nil, toastWith("只有门禁管理员"), 0},
		{"reminder id made up by an admin", []any{click(adminID, adminP2P, map[string]any{"a": "remind_send", "id": "rm-0123456789abcdef-0123456789abcdef"})}, 200, nil, toastWith("不再可用"), 0},
		{"reminder id of the wrong length", []any{click(adminID, adminP2P, map[string]any{"a": "remind_send", "id": strings.Repeat("rm-", 100)})}, 200, nil, toastWith("不再可用"), 0},
		{"non-admin clicks Send", []any{click(readerID, readerChat, send)}, 200, nil, toastWith("只有门禁管理员"), 0},
		{"duplicate delivery of the admin's Send", []any{adminSend, adminSend}, 200, map[string]int{"actions": 1, "events": 1, "reminders": noFace}, toastWith("已经处理过"), noFace},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, sentBefore := h.rowCounts(), dms()
			logAt := len(logs.String())
			var status int
			var body []byte
			for _, ev := range c.events {
				var err error
				status, body, err = h.Fake.Deliver(context.Background(), h.URL()+"/webhook/card", ev)
				if err != nil {
					t.Fatal(err)
				}
			}
			if status != c.status {
				t.Fatalf("status %d (%s), want %d", status, body, c.status)
			}
			if c.check != nil {
				var a answer
				if err := json.Unmarshal(body, &a); err != nil {
					t.Fatalf("answer is not JSON: %v: %s", err, body)
				}
				c.check(t, a)
			}
			if c.reminders > 0 {
				h.Eventually("the reminders", func() bool { return dms()-sentBefore >= c.reminders })
			}
			if n := dms() - sentBefore; n != c.reminders {
				t.Errorf("%d reminders sent, want %d", n, c.reminders)
			}
			after := h.rowCounts()
			for table, n := range after {
				if got := n - before[table]; got != c.recorded[table] {
					t.Errorf("%s: %d rows added, want %d", table, got, c.recorded[table])
				}
			}
			checkLog(t, h, logs.String()[logAt:])
		})
	}
}
