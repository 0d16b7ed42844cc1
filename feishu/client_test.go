package feishu_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"acsbot/feishu"
	"acsbot/feishufake"
	"acsbot/metrics"
)

const card = `{"schema":"2.0","config":{"update_multi":true},"body":{"elements":[{"tag":"markdown","content":"hi"}]}}`

// syncBuffer is a log sink that -race accepts being written from SDK goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// counter reads a counter's value.
func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

type env struct {
	fake    *feishufake.Server
	client  *feishu.Client
	metrics *metrics.Metrics
	rec     *recorder
	logs    *syncBuffer
	secret  string
}

// newEnv starts a fake platform and a Client for it. Each one gets its own app
// secret: the SDK's token cache is process-wide and keyed by app id and secret.
func newEnv(t *testing.T) *env { return newAppEnv(t, "") }

// newAppEnv is newEnv for one of several apps in a test.
func newAppEnv(t *testing.T, app string) *env {
	t.Helper()
	secret := "sec-" + strings.ReplaceAll(t.Name(), "/", "-") + app + "-" + rand.Text()
	fake := feishufake.New(feishufake.Options{AppID: "cli_test", AppSecret: secret, VerificationToken: "vt"})
	t.Cleanup(fake.Close)
	m := metrics.New()
	logs := &syncBuffer{}
	c := feishu.NewClient(feishu.ClientConfig{AppID: "cli_test", AppSecret: secret, BaseURL: fake.URL(),
		Timeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Metrics: m})
	rec := &recorder{}
	feishu.SetSleep(c, rec.sleep)
	return &env{fake: fake, client: c, metrics: m, rec: rec, logs: logs, secret: secret}
}

func (e *env) lastCall(t *testing.T, method string) feishufake.Call {
	t.Helper()
	calls := e.fake.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Method == method {
			return calls[i]
		}
	}
	t.Fatalf("no %s call recorded", method)
	return feishufake.Call{}
}

func TestMessages(t *testing.T) {
	tests := []struct {
		name string
		run  func(ctx context.Context, t *testing.T, e *env)
	}{
		{"send to a chat with uuid", func(ctx context.Context, t *testing.T, e *env) {
			id, err := e.client.Send(ctx, "chat_id", "oc_room", card, "u-1")
			if err != nil {
				t.Fatal(err)
			}
			msgs := e.fake.Messages()
			if len(msgs) != 1 || msgs[0].ID != id || msgs[0].ReceiveID != "oc_room" || msgs[0].MsgType != "interactive" ||
				msgs[0].Content != card || msgs[0].UUID != "u-1" {
				t.Fatalf("fake recorded %+v, Send returned %q", msgs, id)
			}
			if got := counter(t, e.metrics.MessagesSent.WithLabelValues("send", "ok")); got != 1 {
				t.Errorf("messages_total{send,ok} = %v, want 1", got)
			}
		}},
		{"send without uuid leaves the field out", func(ctx context.Context, t *testing.T, e *env) {
			if _, err := e.client.Send(ctx, "open_id", "ou_someone", card, ""); err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(e.lastCall(t, "POST").ReqBody), &body); err != nil {
				t.Fatal(err)
			}
			if _, has := body["uuid"]; has {
				t.Errorf("request body %v carries a uuid", body)
			}
		}},
		{"same uuid sends once", func(ctx context.Context, t *testing.T, e *env) {
			a, err1 := e.client.Send(ctx, "chat_id", "oc_room", card, "u-same")
			b, err2 := e.client.Send(ctx, "chat_id", "oc_room", card, "u-same")
			if err := errors.Join(err1, err2); err != nil {
				t.Fatal(err)
			}
			if a != b || len(e.fake.Messages()) != 1 {
				t.Errorf("ids %q %q, %d messages; want one message", a, b, len(e.fake.Messages()))
			}
		}},
		{"reply then patch", func(ctx context.Context, t *testing.T, e *env) {
			id, err := e.client.Reply(ctx, "om_parent", card, "r-1")
			if err != nil {
				t.Fatal(err)
			}
			patched := strings.Replace(card, "hi", "done", 1)
			if err := e.client.Patch(ctx, id, patched); err != nil {
				t.Fatal(err)
			}
			msgs := e.fake.Messages()
			if len(msgs) != 1 || msgs[0].Kind != "reply" || msgs[0].ParentID != "om_parent" || msgs[0].Content != patched || msgs[0].Patches != 1 {
				t.Fatalf("fake recorded %+v", msgs)
			}
			for _, kind := range []string{"reply", "patch"} {
				if got := counter(t, e.metrics.MessagesSent.WithLabelValues(kind, "ok")); got != 1 {
					t.Errorf("messages_total{%s,ok} = %v, want 1", kind, got)
				}
			}
		}},
		{"rate limited send waits the reset and succeeds", func(ctx context.Context, t *testing.T, e *env) {
			e.fake.InjectMessageFault(feishufake.MessageFault{Code: 99991400, HTTPStatus: 429, ResetSeconds: 2, Times: 1})
			if _, err := e.client.Send(ctx, "chat_id", "oc_room", card, "u-rl"); err != nil {
				t.Fatal(err)
			}
			if len(e.rec.waits) != 1 || e.rec.waits[0] != 2*time.Second {
				t.Errorf("waits = %v, want [2s] from x-ogw-ratelimit-reset", e.rec.waits)
			}
			if n := len(e.fake.Messages()); n != 1 {
				t.Errorf("%d messages, want 1", n)
			}
		}},
		{"IM frequency code 230020 is retried", func(ctx context.Context, t *testing.T, e *env) {
			e.fake.InjectMessageFault(feishufake.MessageFault{Code: 230020, Times: 1})
			if _, err := e.client.Reply(ctx, "om_parent", card, "r-230020"); err != nil {
				t.Fatal(err)
			}
			if len(e.rec.waits) != 1 {
				t.Errorf("waits = %v, want one backoff", e.rec.waits)
			}
		}},
		{"bot outside the chat is permanent", func(ctx context.Context, t *testing.T, e *env) {
			e.fake.InjectMessageFault(feishufake.MessageFault{Code: 230002, ReceiveID: "oc_gone"})
			_, err := e.client.Send(ctx, "chat_id", "oc_gone", card, "")
			var fe *feishu.Error
			if !errors.As(err, &fe) || fe.Code != 230002 || fe.Class != feishu.Permanent || fe.HTTPStatus != 400 || fe.LogID == "" {
				t.Fatalf("Send = %#v, want permanent *feishu.Error code 230002 with a log id", err)
			}
			if len(e.rec.waits) != 0 {
				t.Errorf("waits = %v, want none", e.rec.waits)
			}
			if got := counter(t, e.metrics.MessagesSent.WithLabelValues("send", "permanent")); got != 1 {
				t.Errorf("messages_total{send,permanent} = %v, want 1", got)
			}
		}},
		{"patch of an unknown message fails", func(ctx context.Context, t *testing.T, e *env) {
			err := e.client.Patch(ctx, "om_nothing", card)
			if feishu.ClassOf(err) != feishu.Permanent || !strings.Contains(err.Error(), "patch message om_nothing") {
				t.Fatalf("Patch = %v", err)
			}
		}},
		{"bot open id", func(ctx context.Context, t *testing.T, e *env) {
			id, err := e.client.BotOpenID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := e.fake.Options().BotOpenID; id != want || want == "" {
				t.Errorf("BotOpenID = %q, want %q", id, want)
			}
		}},
		{"chat name", func(ctx context.Context, t *testing.T, e *env) {
			e.fake.SetChat("oc_ops", "门禁管理员")
			name, err := e.client.ChatName(ctx, "oc_ops")
			if err != nil || name != "门禁管理员" {
				t.Fatalf("ChatName = %q, %v", name, err)
			}
			_, err = e.client.ChatName(ctx, "oc_missing")
			var fe *feishu.Error
			if !errors.As(err, &fe) || fe.Code != 232006 {
				t.Fatalf("ChatName(unknown) = %v, want code 232006", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tt.run(ctx, t, newEnv(t))
		})
	}
}

// A revoked token is refused twice (the SDK's own retry resends it); Do then evicts
// it and the call goes through with a new one.
func TestTokenInvalidEvictsToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.client.ChatName(ctx, "oc_x"); feishu.ClassOf(err) != feishu.Permanent {
		t.Fatalf("warm-up ChatName = %v", err)
	}
	if n := e.fake.TokenRequests(); n != 1 {
		t.Fatalf("token requests = %d after warm-up, want 1", n)
	}
	e.fake.RevokeTokens()
	e.fake.SetChat("oc_x", "x")
	name, err := e.client.ChatName(ctx, "oc_x")
	if err != nil || name != "x" {
		t.Fatalf("ChatName after revoke = %q, %v", name, err)
	}
	if n := e.fake.TokenRequests(); n != 2 {
		t.Errorf("token requests = %d, want 2: the stale token must be evicted once", n)
	}
	if !strings.Contains(e.logs.String(), "evicted cached tokens") {
		t.Errorf("no eviction logged:\n%s", e.logs.String())
	}
}

// Clients of two apps in one process each keep and evict their own tokens, although
// the SDK's token cache is process-wide.
func TestSeveralClients(t *testing.T) {
	a, b := newAppEnv(t, "a"), newAppEnv(t, "b")
	ctx := context.Background()
	for i := range 2 {
		for _, e := range []*env{a, b} {
			if _, err := e.client.BotOpenID(ctx); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
	}
	a.fake.RevokeTokens()
	for _, e := range []*env{a, b} {
		if _, err := e.client.BotOpenID(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if ta, tb := a.fake.TokenRequests(), b.fake.TokenRequests(); ta != 2 || tb != 1 {
		t.Errorf("token requests a=%d b=%d, want 2 and 1: one app's eviction must not touch the other's token", ta, tb)
	}
}

func TestWrongSecretNeverLeaks(t *testing.T) {
	e := newEnv(t)
	wrong := "wrong-secret-" + t.Name()
	logs := &syncBuffer{}
	c := feishu.NewClient(feishu.ClientConfig{AppID: "cli_test", AppSecret: wrong, BaseURL: e.fake.URL(),
		Timeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	_, err := c.BotOpenID(context.Background())
	var fe *feishu.Error
	if !errors.As(err, &fe) || fe.Class != feishu.Permanent || fe.Code == 0 {
		t.Fatalf("BotOpenID with a wrong secret = %v, want a permanent coded error", err)
	}
	for _, where := range []string{err.Error(), logs.String()} {
		if strings.Contains(where, wrong) || strings.Contains(where, e.secret) {
			t.Errorf("secret leaked into %q", where)
		}
	}
}

// A gateway's HTML 502 keeps its status (the SDK alone reports "content-type not json").
func TestBadGatewayIsRetryable(t *testing.T) {
	tests := []struct {
		name    string
		times   int
		wantErr bool
	}{
		{"once, then retried", 1, false},
		{"always", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.SetUsers(feishufake.GenerateUsers(3, 1))
			e.fake.InjectACSFault(feishufake.Fault{Kind: feishufake.FaultBadGateway, Times: tt.times})
			const op = "list acs users page 1"
			var items int
			err := e.client.Do(context.Background(), op, feishu.RetryPolicy{Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
				func(ctx context.Context) error {
					resp, err := e.client.Lark().Acs.V1.User.List(ctx, larkacs.NewListUserReqBuilder().PageSize(50).Build())
					if err != nil {
						return feishu.Classify(op, nil, larkcore.CodeError{}, err)
					}
					if err := feishu.Classify(op, resp.ApiResp, resp.CodeError, nil); err != nil {
						return err
					}
					items = len(resp.Data.Items)
					return nil
				})
			if !tt.wantErr {
				if err != nil || items != 3 {
					t.Fatalf("Do = %v, %d items", err, items)
				}
				return
			}
			var fe *feishu.Error
			if !errors.As(err, &fe) || fe.HTTPStatus != 502 || fe.Class != feishu.Retryable {
				t.Fatalf("Do = %v, want retryable *feishu.Error with status 502", err)
			}
			if n := e.fake.ACSListCalls(); n != 3 {
				t.Errorf("list calls = %d, want 3 attempts", n)
			}
		})
	}
}
