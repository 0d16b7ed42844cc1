package feishufake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
	larkws "github.com/larksuite/oapi-sdk-go/v3/ws"
)

// testWS keeps the SDK client quick: a reconnect starts at once, then one attempt a
// second; a ping every second (the shortest the config can say).
var testWS = WSClientConfig{ReconnectCount: -1, ReconnectInterval: 1, ReconnectNonce: 0, PingInterval: 1}

// newWSFake is a fake whose long connection answers with testWS and pushes an
// unacknowledged event again after 300 ms.
func newWSFake(t *testing.T) *Server {
	t.Helper()
	return newFake(t, func(o *Options) {
		cfg := testWS
		o.WS = &cfg
		o.WSRepushAfter = 300 * time.Millisecond
	})
}

// sdkLog records what the SDK client logs, so a test can see what it did with a
// frame (it logs "receive pong" at Debug) without printing it.
type sdkLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *sdkLog) add(level string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+fmt.Sprint(args...))
}

func (l *sdkLog) Debug(_ context.Context, args ...any) { l.add("DEBUG", args...) }
func (l *sdkLog) Info(_ context.Context, args ...any)  { l.add("INFO", args...) }
func (l *sdkLog) Warn(_ context.Context, args ...any)  { l.add("WARN", args...) }
func (l *sdkLog) Error(_ context.Context, args ...any) { l.add("ERROR", args...) }

func (l *sdkLog) has(part string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, part) {
			return true
		}
	}
	return false
}

// sdkClient is the SDK's own long-connection client, running against the fake.
type sdkClient struct {
	cli    *larkws.Client
	log    *sdkLog
	ready  chan struct{} // closed by the first OnReady
	errors chan error    // what OnError reported
}

// startSDK runs larkws.Client against s with the given secret until the test ends,
// when it stops it with CloseAndWait and checks that Start returned.
func startSDK(t *testing.T, s *Server, secret string, d *dispatcher.EventDispatcher) *sdkClient {
	t.Helper()
	c := &sdkClient{log: &sdkLog{}, ready: make(chan struct{}), errors: make(chan error, 16)}
	var once sync.Once
	c.cli = larkws.NewClient(s.Options().AppID, secret,
		larkws.WithDomain(s.URL()),
		larkws.WithEventHandler(d),
		larkws.WithLogger(c.log),
		larkws.WithOnReady(func() { once.Do(func() { close(c.ready) }) }),
		larkws.WithOnError(func(err error) {
			select {
			case c.errors <- err:
			default:
			}
		}),
	)
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(started)
		done <- c.cli.Start(context.Background())
	}()
	<-started
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := c.cli.CloseAndWait(ctx); err != nil {
			t.Errorf("CloseAndWait: %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Start returned %v after Close, want nil", err)
			}
		case <-ctx.Done():
			t.Error("Start did not return after Close")
		}
	})
	return c
}

func (c *sdkClient) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-c.ready:
	case <-time.After(3 * time.Second):
		t.Fatal("the SDK client did not connect")
	}
}

// waitFor polls cond for at most 3 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pushCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// framesOf returns the logged frames of one direction and type.
func framesOf(s *Server, dir, typ string) []WSFrame {
	var out []WSFrame
	for _, f := range s.WSFrames() {
		if f.Dir == dir && f.Type == typ {
			out = append(out, f)
		}
	}
	return out
}

// An event pushed over the long connection reaches the SDK dispatcher's handler as
// Feishu built it, and the handler's ack comes back to the fake and into the log.
func TestWSPushedEventIsHandledAndAcked(t *testing.T) {
	s := newWSFake(t)
	got := make(chan *larkim.P2MessageReceiveV1, 1)
	d := dispatcher.NewEventDispatcher("", "").OnP2MessageReceiveV1(func(_ context.Context, ev *larkim.P2MessageReceiveV1) error {
		got <- ev
		return nil
	})
	c := startSDK(t, s, s.Options().AppSecret, d)
	c.waitReady(t)

	ev := s.MessageEvent(UserMessage{ChatID: "oc_group1", ChatType: "group", SenderOpenID: "ou_admin", Text: "/noface", MentionBot: true})
	ack, err := s.PushEvent(pushCtx(t), ev)
	if err != nil {
		t.Fatal(err)
	}
	h := <-got
	if h.EventV2Base.Header.EventID != ev.EventID() || *h.Event.Message.MessageId != eventMessageID(t, ev) ||
		*h.Event.Message.Content != `{"text":"@_user_1 /noface"}` {
		t.Errorf("handler got event %s message %s %s", h.EventV2Base.Header.EventID, *h.Event.Message.MessageId, *h.Event.Message.Content)
	}
	if ack.Code != http.StatusOK || ack.Data != nil || ack.MessageID == "" {
		t.Errorf("ack = %+v, want code 200, no data", ack)
	}
	pushes, acks := framesOf(s, "down", "event"), framesOf(s, "up", "event")
	if len(pushes) != 1 || len(acks) != 1 || pushes[0].MessageID != ack.MessageID || acks[0].MessageID != ack.MessageID ||
		pushes[0].EventID != ev.EventID() || pushes[0].EventType != "im.message.receive_v1" || acks[0].Code != 200 || pushes[0].Conn != 1 {
		t.Fatalf("frame log: pushes %+v, acks %+v", pushes, acks)
	}
	if strings.Contains(pushes[0].Payload, testVerify) || !strings.Contains(pushes[0].Payload, `"token":"[redacted]"`) {
		t.Errorf("the verification token reached the frame log: %s", pushes[0].Payload)
	}
	if open, total := s.WSConnections(); open != 1 || total != 1 {
		t.Errorf("connections open %d, total %d; want 1, 1", open, total)
	}
}

// A click over the long connection carries what the webhook callback carries; the
// handler's toast and raw card come back base64-coded in the ack, and the fake applies
// the card to the clicked message as a Feishu client does.
func TestWSClickAnswerComesBack(t *testing.T) {
	s := newWSFake(t)
	ev := s.MessageEvent(UserMessage{ChatID: "oc_group1", ChatType: "group", SenderOpenID: "ou_admin", Text: "/noface"})
	reply, err := newClient(s).Im.V1.Message.Reply(context.Background(), larkim.NewReplyMessageReqBuilder().MessageId(eventMessageID(t, ev)).
		Body(larkim.NewReplyMessageReqBodyBuilder().MsgType("interactive").Content(card(3)).Build()).Build())
	if err != nil || !reply.Success() {
		t.Fatalf("reply: %v %v", err, reply)
	}
	msgID := *reply.Data.MessageId

	clicks := make(chan *callback.CardActionTriggerEvent, 1)
	d := dispatcher.NewEventDispatcher("", "").OnP2CardActionTrigger(func(_ context.Context, ev *callback.CardActionTriggerEvent) (*callback.CardActionTriggerResponse, error) {
		clicks <- ev
		if ev.Event.Action.Value["a"] == "fail" {
			return nil, errors.New("handler failed")
		}
		return &callback.CardActionTriggerResponse{
			Toast: &callback.Toast{Type: "success", Content: "done"},
			Card:  &callback.Card{Type: "raw", Data: rawJSON(card(9))},
		}, nil
	})
	c := startSDK(t, s, s.Options().AppSecret, d)
	c.waitReady(t)

	res, err := s.ClickWS(pushCtx(t), CardAction{OperatorOpenID: "ou_admin", MessageID: msgID, ChatID: "oc_group1", Value: map[string]any{"a": "page", "n": 2}})
	if err != nil {
		t.Fatal(err)
	}
	h := <-clicks
	if h.EventV2Base.Header.EventType != "card.action.trigger" || h.Event.Operator.OpenID != "ou_admin" ||
		h.Event.Context.OpenChatID != "oc_group1" || h.Event.Context.OpenMessageID != msgID ||
		h.Event.Action.Value["a"] != "page" || !strings.HasPrefix(h.Event.Token, "c-") {
		t.Errorf("handler got %+v / %+v / %+v", h.EventV2Base.Header, h.Event.Operator, h.Event.Context)
	}
	if res.Status != 200 || res.Toast == nil || res.Toast.Content != "done" || !res.Updated {
		t.Errorf("click result %+v, answer %s", res, res.Answer)
	}
	if got := s.Messages()[0].Content; got != card(9) {
		t.Errorf("message content %s, want the answer's card", got)
	}
	acks := framesOf(s, "up", "event")
	if len(acks) != 1 || !strings.Contains(acks[0].Payload, `"content":"done"`) {
		t.Errorf("ack log %+v, want the decoded answer", acks)
	}
	if push := framesOf(s, "down", "event"); len(push) != 1 || strings.Contains(push[0].Payload, h.Event.Token) {
		t.Errorf("the card update token reached the frame log: %+v", push)
	}

	res, err = s.ClickWS(pushCtx(t), CardAction{OperatorOpenID: "ou_admin", MessageID: msgID, ChatID: "oc_group1", Value: map[string]any{"a": "fail"}})
	<-clicks
	if err == nil || res.Status != 500 || res.Toast != nil {
		t.Errorf("failed handler: err %v, result %+v", err, res)
	}
}

// rawJSON decodes s so that the SDK marshals it back as the same object.
func rawJSON(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

// A dropped connection makes the SDK reconnect; the event whose handler was cut off
// is pushed again under the same event id and handled on the new connection.
func TestWSDropReconnectsAndRepushes(t *testing.T) {
	s := newWSFake(t)
	type call struct{ eventID string }
	calls := make(chan call, 4)
	release := make(chan struct{})
	var n int
	var mu sync.Mutex
	d := dispatcher.NewEventDispatcher("", "").OnP2MessageReceiveV1(func(ctx context.Context, ev *larkim.P2MessageReceiveV1) error {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		calls <- call{ev.EventV2Base.Header.EventID}
		if first { // stuck until the test is done with it: its ack never comes in time
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	})
	c := startSDK(t, s, s.Options().AppSecret, d)
	defer close(release)
	c.waitReady(t)

	ev := s.MessageEvent(UserMessage{ChatID: "oc_group1", ChatType: "group", SenderOpenID: "ou_admin", Text: "/noface"})
	type result struct {
		ack WSAck
		err error
	}
	pushed := make(chan result, 1)
	ctx := pushCtx(t)
	go func() {
		ack, err := s.PushEvent(ctx, ev)
		pushed <- result{ack, err}
	}()
	if got := <-calls; got.eventID != ev.EventID() {
		t.Fatalf("first delivery of %s", got.eventID)
	}
	if n := s.DropWSConnections(); n != 1 {
		t.Fatalf("dropped %d connections, want 1", n)
	}
	waitFor(t, "the SDK to reconnect", func() bool { open, total := s.WSConnections(); return open == 1 && total == 2 })
	select {
	case got := <-calls:
		if got.eventID != ev.EventID() {
			t.Errorf("re-push carried event %s, want %s", got.eventID, ev.EventID())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the event was not pushed again")
	}
	r := <-pushed
	if r.err != nil || r.ack.Code != 200 {
		t.Fatalf("PushEvent: %+v, %v", r.ack, r.err)
	}
	pushes := framesOf(s, "down", "event")
	if len(pushes) != 2 || pushes[0].Conn != 1 || pushes[1].Conn != 2 || pushes[0].MessageID == pushes[1].MessageID ||
		pushes[1].MessageID != r.ack.MessageID || pushes[0].EventID != pushes[1].EventID {
		t.Errorf("pushes %+v, ack %+v", pushes, r.ack)
	}
	if !c.log.has("disconnected") {
		t.Error("the SDK did not log the drop")
	}
}

// A handler that fails gets a 500 ack, and Feishu pushes the event again.
func TestWSFailedHandlerIsRepushed(t *testing.T) {
	s := newWSFake(t)
	var mu sync.Mutex
	var n int
	d := dispatcher.NewEventDispatcher("", "").OnP2MessageReceiveV1(func(context.Context, *larkim.P2MessageReceiveV1) error {
		mu.Lock()
		defer mu.Unlock()
		if n++; n == 1 {
			return errors.New("store busy")
		}
		return nil
	})
	startSDK(t, s, s.Options().AppSecret, d).waitReady(t)

	ev := s.MessageEvent(UserMessage{ChatID: "oc_group1", ChatType: "group", SenderOpenID: "ou_admin", Text: "/noface"})
	ack, err := s.PushEvent(pushCtx(t), ev)
	if err != nil || ack.Code != 200 {
		t.Fatalf("PushEvent: %+v, %v", ack, err)
	}
	acks := framesOf(s, "up", "event")
	if len(acks) != 2 || acks[0].Code != 500 || acks[1].Code != 200 {
		t.Errorf("acks %+v, want 500 then 200", acks)
	}
}

// With no client connected the event is pushed 5 times in all and then given up.
func TestWSPushWithoutClientGivesUp(t *testing.T) {
	s := newFake(t, func(o *Options) { o.WSRepushAfter = 20 * time.Millisecond })
	start := time.Now()
	_, err := s.PushEvent(pushCtx(t), s.MessageEvent(UserMessage{ChatID: "oc_1", ChatType: "group", SenderOpenID: "ou_a", Text: "x"}))
	if err == nil || !strings.Contains(err.Error(), "pushed 5 times") {
		t.Errorf("err = %v", err)
	}
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Errorf("gave up after %v, before 5 intervals", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond) // not Feishu's 3 s
	defer cancel()
	if _, err := s.ClickWS(ctx, CardAction{OperatorOpenID: "ou_a", MessageID: "om_1", ChatID: "oc_1"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a click with no client connected: %v", err)
	}
}

// The SDK pings at once after connecting; the fake answers with a pong carrying the
// ClientConfig, which the SDK reads.
func TestWSPingIsAnsweredWithPong(t *testing.T) {
	s := newWSFake(t)
	c := startSDK(t, s, s.Options().AppSecret, dispatcher.NewEventDispatcher("", ""))
	c.waitReady(t)
	waitFor(t, "the SDK to read a pong", func() bool { return c.log.has("receive pong") })
	pings, pongs := framesOf(s, "up", "ping"), framesOf(s, "down", "pong")
	if len(pings) == 0 || len(pongs) == 0 {
		t.Fatalf("pings %+v, pongs %+v", pings, pongs)
	}
	want := `{"ReconnectCount":-1,"ReconnectInterval":1,"ReconnectNonce":0,"PingInterval":1}`
	if pongs[0].Payload != want {
		t.Errorf("pong payload %s, want %s", pongs[0].Payload, want)
	}
}

// A wrong app secret is refused at the endpoint with Feishu's HTTP 400 and code
// 10014, no connection opens, and the wrong secret stays out of the call log. The
// SDK counts an HTTP error as a server fault and would try again later: the bot
// learns of it through OnError only.
func TestWSBadSecretIsRefused(t *testing.T) {
	s := newWSFake(t)
	const wrong = "not-the-secret-0001"
	c := startSDK(t, s, wrong, dispatcher.NewEventDispatcher("", ""))
	select {
	case err := <-c.errors:
		if !strings.Contains(err.Error(), "app secret invalid") || !strings.Contains(err.Error(), "400") {
			t.Errorf("OnError got %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the SDK reported no error")
	}
	if _, total := s.WSConnections(); total != 0 {
		t.Errorf("%d connections opened with a wrong secret", total)
	}
	calls := s.Calls()
	if len(calls) != 1 || calls[0].Path != "/callback/ws/endpoint" || calls[0].Status != 400 || calls[0].Code != 10014 {
		t.Fatalf("calls %+v", calls)
	}
	if strings.Contains(calls[0].ReqBody, wrong) {
		t.Errorf("the secret reached the call log: %s", calls[0].ReqBody)
	}
}

// The endpoint answers the URL and the ClientConfig as Feishu does, the call log
// hides the secret, and the WebSocket takes only a dial the endpoint granted, once.
func TestWSEndpointGrantsOneDial(t *testing.T) {
	s := newWSFake(t)
	o := s.Options()
	status, _, v := rawCall(t, s, http.MethodPost, "/callback/ws/endpoint", "", map[string]string{"AppID": o.AppID, "AppSecret": o.AppSecret, "ClientAssertion": ""})
	data, _ := v["data"].(map[string]any)
	cfg, _ := data["ClientConfig"].(map[string]any)
	u, _ := data["URL"].(string)
	if status != 200 || code(v) != 0 || cfg["PingInterval"] != 1.0 || cfg["ReconnectNonce"] != 0.0 ||
		!strings.HasPrefix(u, "ws://127.0.0.1:") || !strings.Contains(u, "service_id=1") || !strings.Contains(u, "device_id=") {
		t.Fatalf("endpoint answered %d %v", status, v)
	}
	if strings.Contains(s.Calls()[0].ReqBody, o.AppSecret) {
		t.Errorf("the secret reached the call log: %s", s.Calls()[0].ReqBody)
	}

	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial the granted URL: %v", err)
	}
	waitFor(t, "the connection to count", func() bool { open, _ := s.WSConnections(); return open == 1 })
	_, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("second dial with the same ticket: %v", err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	_ = conn.Close()
	waitFor(t, "the connection to close", func() bool { open, _ := s.WSConnections(); return open == 0 })

	for _, c := range []struct {
		body map[string]string
		code int
	}{
		{map[string]string{"AppID": o.AppID}, 10003},
		{map[string]string{"AppID": "cli_other", "AppSecret": o.AppSecret}, 10014},
	} {
		status, _, v := rawCall(t, s, http.MethodPost, "/callback/ws/endpoint", "", c.body)
		if status != 400 || code(v) != c.code {
			t.Errorf("%v: answered %d %v, want 400 and %d", c.body, status, v, c.code)
		}
	}
}

// PushRaw sends what Feishu would not, once: the SDK answers broken JSON with a 500
// and keeps the connection, and the frame log keeps the push.
func TestWSPushRawIsPushedOnce(t *testing.T) {
	s := newWSFake(t)
	handled := make(chan struct{}, 1)
	d := dispatcher.NewEventDispatcher("", "").OnP2MessageReceiveV1(func(context.Context, *larkim.P2MessageReceiveV1) error {
		handled <- struct{}{}
		return nil
	})
	c := startSDK(t, s, s.Options().AppSecret, d)
	c.waitReady(t)

	ack, err := s.PushRaw(pushCtx(t), []byte(`{"schema":"2.0","header":`))
	if err != nil || ack.Code != http.StatusInternalServerError {
		t.Fatalf("broken JSON: ack %+v, err %v; want code 500", ack, err)
	}
	if pushes := framesOf(s, "down", "event"); len(pushes) != 1 || pushes[0].Payload != `{"schema":"2.0","header":` {
		t.Fatalf("frame log: %+v", pushes)
	}
	ev := s.MessageEvent(UserMessage{ChatID: "oc_1", ChatType: "p2p", SenderOpenID: "ou_1", Text: "hi"})
	if _, err := s.PushEvent(pushCtx(t), ev); err != nil {
		t.Fatalf("after broken JSON: %v", err)
	}
	<-handled
	if open, total := s.WSConnections(); open != 1 || total != 1 {
		t.Errorf("connections open %d, total %d; want the one, kept", open, total)
	}
}
