package feishufake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
)

// card builds a card JSON 2.0 with n markdown components in its body (n+1 tagged
// elements in all, counting the header title).
func card(n int) string {
	els := make([]map[string]any, n)
	for i := range els {
		els[i] = map[string]any{"tag": "markdown", "content": fmt.Sprintf("line %d", i)}
	}
	b, _ := json.Marshal(map[string]any{
		"schema": "2.0",
		"header": map[string]any{"title": map[string]any{"tag": "plain_text", "content": "T"}},
		"body":   map[string]any{"elements": els},
	})
	return string(b)
}

func textContent(s string) string {
	b, _ := json.Marshal(map[string]string{"text": s})
	return string(b)
}

func TestBotInfoAndChats(t *testing.T) {
	s := newFake(t, func(o *Options) { o.BotName = "Door Bot" })
	s.SetChat("oc_facility", "Facility team")
	cli := newClient(s)
	ctx := context.Background()
	t.Run("bot info", func(t *testing.T) {
		resp, err := cli.Get(ctx, "/open-apis/bot/v3/info", nil, larkcore.AccessTokenTypeTenant)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Code int
			Bot  struct {
				OpenID         string `json:"open_id"`
				AppName        string `json:"app_name"`
				ActivateStatus int    `json:"activate_status"`
			}
		}
		if err := json.Unmarshal(resp.RawBody, &v); err != nil {
			t.Fatal(err)
		}
		o := s.Options()
		if v.Code != 0 || v.Bot.OpenID != o.BotOpenID || v.Bot.AppName != "Door Bot" || v.Bot.ActivateStatus != 2 {
			t.Fatalf("bot info %s", resp.RawBody)
		}
		if len(o.BotOpenID) != 35 || !strings.HasPrefix(o.BotOpenID, "ou_") {
			t.Errorf("default bot open id %q", o.BotOpenID)
		}
	})
	cases := []struct {
		chat     string
		wantCode int
		wantName string
	}{
		{"oc_facility", 0, "Facility team"},
		{"oc_unknown", codeChatInvalid, ""},
	}
	for _, c := range cases {
		t.Run("chat "+c.chat, func(t *testing.T) {
			resp, err := cli.Im.V1.Chat.Get(ctx, larkim.NewGetChatReqBuilder().ChatId(c.chat).Build())
			if err != nil {
				t.Fatal(err)
			}
			if resp.Code != c.wantCode {
				t.Fatalf("code %d, want %d: %s", resp.Code, c.wantCode, resp.RawBody)
			}
			if c.wantCode == 0 && (larkcore.StringValue(resp.Data.Name) != c.wantName || larkcore.StringValue(resp.Data.ChatMode) != "group") {
				t.Fatalf("chat %s", resp.RawBody)
			}
		})
	}
}

func TestSendReplyPatchRecorded(t *testing.T) {
	s := newFake(t, nil)
	cli := newClient(s)
	ctx := context.Background()
	ev := s.MessageEvent(UserMessage{ChatID: "oc_group1", ChatType: "group", SenderOpenID: "ou_admin", Text: "/stats"})
	asked := eventMessageID(t, ev)

	reply, err := cli.Im.V1.Message.Reply(ctx, larkim.NewReplyMessageReqBuilder().MessageId(asked).
		Body(larkim.NewReplyMessageReqBodyBuilder().MsgType("interactive").Content(card(3)).Build()).Build())
	if err != nil || !reply.Success() {
		t.Fatalf("reply: %v %v", err, reply)
	}
	if larkcore.StringValue(reply.Data.ChatId) != "oc_group1" || larkcore.StringValue(reply.Data.ParentId) != asked {
		t.Errorf("reply data %s: want the asked message's chat and parent", reply.RawBody)
	}
	sent, err := cli.Im.V1.Message.Create(ctx, larkim.NewCreateMessageReqBuilder().ReceiveIdType("open_id").
		Body(larkim.NewCreateMessageReqBodyBuilder().ReceiveId("ou_someone").MsgType("text").Content(textContent("hi")).Build()).Build())
	if err != nil || !sent.Success() {
		t.Fatalf("create: %v %v", err, sent)
	}
	patched, err := cli.Im.V1.Message.Patch(ctx, larkim.NewPatchMessageReqBuilder().MessageId(*reply.Data.MessageId).
		Body(larkim.NewPatchMessageReqBodyBuilder().Content(card(5)).Build()).Build())
	if err != nil || !patched.Success() {
		t.Fatalf("patch: %v %v", err, patched)
	}

	msgs := s.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2: %+v", len(msgs), msgs)
	}
	cases := []struct {
		name string
		got  Message
		want Message
	}{
		{"reply", msgs[0], Message{ID: *reply.Data.MessageId, Kind: "reply", ParentID: asked, ChatID: "oc_group1", MsgType: "interactive", Content: card(5), Patches: 1}},
		{"create", msgs[1], Message{ID: *sent.Data.MessageId, Kind: "create", ReceiveIDType: "open_id", ReceiveID: "ou_someone", ChatID: msgs[1].ChatID, MsgType: "text", Content: textContent("hi")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.want.CreatedAt = c.got.CreatedAt
			if c.got != c.want {
				t.Fatalf("got  %+v\nwant %+v", c.got, c.want)
			}
			if !strings.HasPrefix(c.got.ID, "om_") || !strings.HasPrefix(c.got.ChatID, "oc_") || c.got.CreatedAt.IsZero() {
				t.Errorf("ids or time not filled: %+v", c.got)
			}
		})
	}
}

func eventMessageID(t *testing.T, ev Envelope) string {
	t.Helper()
	m, ok := ev.Event.(map[string]any)["message"].(map[string]any)
	if !ok {
		t.Fatalf("not a message event: %+v", ev)
	}
	return m["message_id"].(string)
}

// The same uuid within an hour returns the first message and sends nothing; after
// the hour it sends again.
func TestUUIDDedupe(t *testing.T) {
	clock := newClock()
	s := newFake(t, func(o *Options) { o.Now = clock.Now })
	cli := newClient(s)
	send := func(uuid, text string) string {
		t.Helper()
		b := larkim.NewCreateMessageReqBodyBuilder().ReceiveId("oc_chat").MsgType("text").Content(textContent(text))
		if uuid != "" {
			b.Uuid(uuid)
		}
		resp, err := cli.Im.V1.Message.Create(context.Background(), larkim.NewCreateMessageReqBuilder().ReceiveIdType("chat_id").Body(b.Build()).Build())
		if err != nil || !resp.Success() {
			t.Fatalf("create: %v %v", err, resp)
		}
		return *resp.Data.MessageId
	}
	first := send("ds-20260302-abc", "one")
	steps := []struct {
		name      string
		advance   time.Duration
		uuid      string
		wantSame  bool
		wantCount int
	}{
		{"same uuid at once", 0, "ds-20260302-abc", true, 1},
		{"same uuid 59 min later", 59 * time.Minute, "ds-20260302-abc", true, 1},
		{"other uuid", 0, "ds-20260302-def", false, 2},
		{"no uuid", 0, "", false, 3},
		{"same uuid after the hour", 2 * time.Minute, "ds-20260302-abc", false, 4},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.Add(st.advance)
			id := send(st.uuid, "again")
			if (id == first) != st.wantSame {
				t.Errorf("message id %s, first %s, want same=%v", id, first, st.wantSame)
			}
			if n := len(s.Messages()); n != st.wantCount {
				t.Errorf("%d messages, want %d", n, st.wantCount)
			}
		})
	}
	if got := s.Messages()[0].Content; got != textContent("one") {
		t.Errorf("the deduped send changed the first message: %s", got)
	}
}

func TestMessageValidation(t *testing.T) {
	clock := newClock()
	s := newFake(t, func(o *Options) { o.Now = clock.Now })
	tok := token(t, s)
	_, _, v := rawCall(t, s, http.MethodPost, "/open-apis/im/v1/messages?receive_id_type=chat_id", tok,
		map[string]string{"receive_id": "oc_x", "msg_type": "text", "content": textContent("t")})
	textID := v["data"].(map[string]any)["message_id"].(string)
	_, _, v = rawCall(t, s, http.MethodPost, "/open-apis/im/v1/messages?receive_id_type=chat_id", tok,
		map[string]string{"receive_id": "oc_x", "msg_type": "interactive", "content": card(1)})
	cardID := v["data"].(map[string]any)["message_id"].(string)
	before := len(s.Messages())

	big := strings.Repeat("x", maxCardContent)
	tables := `{"schema":"2.0","body":{"elements":[` + strings.TrimSuffix(strings.Repeat(`{"tag":"table","columns":[],"rows":[]},`, 6), ",") + `]}}`
	create := "/open-apis/im/v1/messages?receive_id_type="
	cases := []struct {
		name, method, path string
		body               map[string]any
		wantCode           int
	}{
		{"no receive_id_type", "POST", "/open-apis/im/v1/messages", map[string]any{"receive_id": "oc_x", "msg_type": "text", "content": textContent("a")}, codeBadField},
		{"bad receive_id_type", "POST", create + "phone", map[string]any{"receive_id": "oc_x", "msg_type": "text", "content": textContent("a")}, codeBadField},
		{"no receive_id", "POST", create + "chat_id", map[string]any{"msg_type": "text", "content": textContent("a")}, codeBadField},
		{"no content", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "text"}, codeBadField},
		{"uuid too long", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "text", "content": textContent("a"), "uuid": strings.Repeat("u", 51)}, codeBadField},
		{"open id for chat_id", "POST", create + "chat_id", map[string]any{"receive_id": "ou_x", "msg_type": "text", "content": textContent("a")}, codeMsgBadParam},
		{"unknown msg_type", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "card", "content": card(1)}, codeMsgBadParam},
		{"content not JSON", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "text", "content": "hello"}, codeMsgBadParam},
		{"card given as an object, not a string", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "interactive", "content": map[string]any{"schema": "2.0"}}, codeBadField},
		{"text without text", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "text", "content": `{"txt":"a"}`}, codeMsgBadParam},
		{"card over 30 KB", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "interactive", "content": `{"schema":"2.0","body":{"elements":[{"tag":"markdown","content":"` + big + `"}]}}`}, codeMsgTooLong},
		{"text over 150 KB", "POST", create + "open_id", map[string]any{"receive_id": "ou_x", "msg_type": "text", "content": textContent(strings.Repeat("y", maxTextContent))}, codeMsgTooLong},
		{"card with 201 elements", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "interactive", "content": card(200)}, codeCardBuildFailed},
		{"card with 6 tables", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "interactive", "content": tables}, codeCardBuildFailed},
		{"card 2.0 with an action module", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "interactive", "content": `{"schema":"2.0","body":{"elements":[{"tag":"action","actions":[]}]}}`}, codeCardBuildFailed},
		{"card 2.0 not shared", "POST", create + "chat_id", map[string]any{"receive_id": "oc_x", "msg_type": "interactive", "content": `{"schema":"2.0","config":{"update_multi":false},"body":{"elements":[]}}`}, codeCardBuildFailed},
		{"reply to a non-message id", "POST", "/open-apis/im/v1/messages/oc_x/reply", map[string]any{"msg_type": "text", "content": textContent("a")}, codeMsgBadParam},
		{"reply without msg_type", "POST", "/open-apis/im/v1/messages/om_1/reply", map[string]any{"content": textContent("a")}, codeBadField},
		{"patch a text message", "PATCH", "/open-apis/im/v1/messages/" + textID, map[string]any{"content": card(1)}, codeMsgBadParam},
		{"patch an unknown message", "PATCH", "/open-apis/im/v1/messages/om_nope", map[string]any{"content": card(1)}, codeMsgBadParam},
		{"patch with an oversized card", "PATCH", "/open-apis/im/v1/messages/" + cardID, map[string]any{"content": card(250)}, codeCardBuildFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, v := rawCall(t, s, c.method, c.path, tok, c.body)
			if status != http.StatusBadRequest || code(v) != c.wantCode {
				t.Fatalf("status %d code %d, want 400 %d: %v", status, code(v), c.wantCode, v["msg"])
			}
		})
	}
	if n := len(s.Messages()); n != before {
		t.Errorf("refused requests recorded messages: %d, want %d", n, before)
	}
	t.Run("200 elements are fine", func(t *testing.T) {
		_, _, v := rawCall(t, s, http.MethodPost, create+"chat_id", tok, map[string]any{"receive_id": "oc_x", "msg_type": "interactive", "content": card(199)})
		if code(v) != 0 {
			t.Fatalf("code %d: %v", code(v), v["msg"])
		}
	})
	t.Run("patch after 14 days", func(t *testing.T) {
		clock.Add(14*24*time.Hour + time.Minute)
		tok := token(t, s)
		_, _, v := rawCall(t, s, http.MethodPatch, "/open-apis/im/v1/messages/"+cardID, tok, map[string]any{"content": card(1)})
		if code(v) != codeMsgPatchExpired {
			t.Fatalf("code %d: %v", code(v), v["msg"])
		}
	})
}

func TestMessageFaults(t *testing.T) {
	s := newFake(t, nil)
	cli := newClient(s)
	ctx := context.Background()
	s.InjectMessageFault(MessageFault{Code: codeRateLimited, HTTPStatus: 429, ResetSeconds: 2, ReceiveID: "oc_busy", Times: 1})
	s.InjectMessageFault(MessageFault{Code: 230002, ReceiveID: "oc_left"})
	send := func(chat string) *larkim.CreateMessageResp {
		resp, err := cli.Im.V1.Message.Create(ctx, larkim.NewCreateMessageReqBuilder().ReceiveIdType("chat_id").
			Body(larkim.NewCreateMessageReqBodyBuilder().ReceiveId(chat).MsgType("text").Content(textContent("x")).Build()).Build())
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	steps := []struct {
		name       string
		chat       string
		wantStatus int
		wantCode   int
	}{
		{"busy chat is rate limited once", "oc_busy", 429, codeRateLimited},
		{"busy chat then works", "oc_busy", 200, 0},
		{"other chat unaffected", "oc_quiet", 200, 0},
		{"bot not in chat", "oc_left", 400, 230002},
		{"bot still not in chat", "oc_left", 400, 230002},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			resp := send(st.chat)
			if resp.StatusCode != st.wantStatus || resp.Code != st.wantCode {
				t.Fatalf("status %d code %d, want %d %d", resp.StatusCode, resp.Code, st.wantStatus, st.wantCode)
			}
			if st.wantStatus == 429 && resp.Header.Get("x-ogw-ratelimit-reset") != "2" {
				t.Errorf("reset header %q", resp.Header.Get("x-ogw-ratelimit-reset"))
			}
		})
	}
	if n := len(s.Messages()); n != 2 {
		t.Errorf("%d messages recorded, want the 2 that succeeded", n)
	}
	t.Run("reply faults match the asked message's chat", func(t *testing.T) {
		ev := s.MessageEvent(UserMessage{ChatID: "oc_left", ChatType: "group", SenderOpenID: "ou_a", Text: "hi"})
		resp, err := cli.Im.V1.Message.Reply(ctx, larkim.NewReplyMessageReqBuilder().MessageId(eventMessageID(t, ev)).
			Body(larkim.NewReplyMessageReqBodyBuilder().MsgType("text").Content(textContent("x")).Build()).Build())
		if err != nil || resp.Code != 230002 {
			t.Fatalf("%v code %d", err, resp.Code)
		}
	})
	s.ClearFaults()
	if resp := send("oc_left"); !resp.Success() {
		t.Fatalf("after ClearFaults: %d", resp.Code)
	}
}

func TestWaitMessages(t *testing.T) {
	s := newFake(t, nil)
	cli := newClient(s)
	got := make(chan []Message, 1)
	errc := make(chan error, 1)
	go func() {
		ms, err := s.WaitMessages(context.Background(), 3)
		got <- ms
		errc <- err
	}()
	for i := range 3 {
		resp, err := cli.Im.V1.Message.Create(context.Background(), larkim.NewCreateMessageReqBuilder().ReceiveIdType("chat_id").
			Body(larkim.NewCreateMessageReqBodyBuilder().ReceiveId("oc_c").MsgType("text").Content(textContent(fmt.Sprint(i))).Build()).Build())
		if err != nil || !resp.Success() {
			t.Fatal(err, resp)
		}
	}
	if ms, err := <-got, <-errc; err != nil || len(ms) != 3 || ms[2].Content != textContent("2") {
		t.Fatalf("WaitMessages: %v %+v", err, ms)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	ms, err := s.WaitMessages(ctx, 4)
	if !errors.Is(err, context.DeadlineExceeded) || len(ms) != 3 {
		t.Fatalf("WaitMessages past the deadline: %v, %d messages", err, len(ms))
	}
}

// The call log never holds the app secret or a tenant token, and keeps the last 1000.
func TestCallsRedactedAndBounded(t *testing.T) {
	s := newFake(t, nil)
	cli := newClient(s)
	if _, err := cli.Get(context.Background(), "/open-apis/bot/v3/info", nil, larkcore.AccessTokenTypeTenant); err != nil {
		t.Fatal(err)
	}
	tok := token(t, s)
	secret := s.Options().AppSecret
	calls := s.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3 (token, bot info, token)", len(calls))
	}
	for _, c := range calls {
		for _, f := range []string{c.ReqBody, c.RespBody, c.Query} {
			if strings.Contains(f, secret) || strings.Contains(f, tok) {
				t.Fatalf("secret in call log: %+v", c)
			}
		}
	}
	if c := calls[0]; c.Path != pathToken || c.Status != 200 || !strings.Contains(c.ReqBody, "[redacted]") || !strings.Contains(c.RespBody, "[redacted]") {
		t.Errorf("token call %+v", c)
	}
	for range maxCalls + 5 {
		rawCall(t, s, http.MethodGet, "/open-apis/no/such/api", tok, nil)
	}
	calls = s.Calls()
	if len(calls) != maxCalls || calls[0].Path != "/open-apis/no/such/api" || calls[maxCalls-1].Status != http.StatusNotFound {
		t.Fatalf("%d calls; first %+v", len(calls), calls[0])
	}
}
