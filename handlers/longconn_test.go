package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"acsbot/config"
	"acsbot/feishufake"
	"acsbot/inbox"
	"acsbot/metrics"
	"acsbot/store"
)

// syncBuf is a log the SDK's goroutines write while the test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newWSServer is the ways in, in websocket mode, against fake with secret, and its
// log. The test stops the connection.
func newWSServer(t *testing.T, fake *feishufake.Server, secret string) (*Server, *httptest.Server, *syncBuf) {
	t.Helper()
	cfg := config.Default()
	cfg.Feishu.AppID, cfg.Feishu.AppSecret, cfg.Feishu.BaseURL = fake.Options().AppID, config.Secret(secret), fake.URL()
	cfg.Access.Admins = []string{"ou_admin"}
	cfg.Store.Path = filepath.Join(t.TempDir(), "bot.db")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(cfg.Store.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m := metrics.New()
	logs := &syncBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := New(Deps{Config: &cfg, Inbox: inbox.New(inbox.Deps{Store: st, Metrics: m, Logger: log}), Store: st, Metrics: m, Logger: log})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv, logs
}

func healthz(t *testing.T, srv *httptest.Server) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func stop(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Disconnect(ctx); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
}

var quick = feishufake.WSClientConfig{ReconnectCount: -1, ReconnectInterval: 1, ReconnectNonce: 0, PingInterval: 1}

// A wrong secret makes Feishu refuse the endpoint, and the SDK tries again for ever:
// /healthz says so with the error, the log says it once, and neither shows the secret.
func TestLongConnWrongSecretShowsOnHealthz(t *testing.T) {
	cfg := quick
	fake := feishufake.New(feishufake.Options{AppID: "cli_ws0001", AppSecret: "the-right-secret", WS: &cfg})
	t.Cleanup(fake.Close)
	const wrong = "LEAKCHECK-wrong-secret"
	s, srv, logs := newWSServer(t, fake, wrong)
	s.SetReady(true)
	s.Connect()
	defer stop(t, s)

	var body map[string]any
	waitFor(t, "the error on /healthz", func() bool {
		var status int
		status, body = healthz(t, srv)
		return status == http.StatusServiceUnavailable && body["long_connection_error"] != nil
	})
	// The SDK may still be on its first dial (connecting) or already retrying.
	if state := body["long_connection"]; body["status"] != "disconnected" || (state != connReconnecting && state != connConnecting) ||
		!strings.Contains(fmt.Sprint(body["long_connection_error"]), "app secret invalid") {
		t.Errorf("healthz %v", body)
	}
	time.Sleep(2500 * time.Millisecond) // two more attempts, one a second
	if n := strings.Count(logs.String(), "long connection error"); n != 1 {
		t.Errorf("the error was logged %d times, want once:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), wrong) || strings.Contains(fmt.Sprint(body), wrong) {
		t.Errorf("the secret was shown:\n%s\n%v", logs.String(), body)
	}
}

// Once up, a connection Feishu can no longer give back turns /healthz to 503 with
// the reason, without the ticket of the URL it dialled.
func TestLongConnDownAfterStartIs503(t *testing.T) {
	cfg := quick
	fake := feishufake.New(feishufake.Options{AppID: "cli_ws0002", AppSecret: "s-0002", WS: &cfg})
	s, srv, logs := newWSServer(t, fake, "s-0002")
	s.SetReady(true)
	s.Connect()
	defer stop(t, s)
	waitFor(t, "the connection", func() bool { status, _ := healthz(t, srv); return status == http.StatusOK })
	if _, body := healthz(t, srv); body["long_connection"] != connUp || body["long_connection_error"] != nil {
		t.Errorf("healthz while up: %v", body)
	}

	fake.Close() // the socket and the endpoint go away together
	var body map[string]any
	waitFor(t, "503", func() bool {
		var status int
		status, body = healthz(t, srv)
		return status == http.StatusServiceUnavailable && body["long_connection_error"] != nil
	})
	if body["long_connection"] != connReconnecting {
		t.Errorf("healthz while down: %v", body)
	}
	for _, leak := range []string{"ticket", "s-0002", "device_id"} {
		if strings.Contains(logs.String(), leak) || strings.Contains(fmt.Sprint(body), leak) {
			t.Errorf("%q shown:\n%s\n%v", leak, logs.String(), body)
		}
	}
}

// Webhook mode has no long connection: Connect and Disconnect do nothing, and
// /healthz has no long_connection field.
func TestWebhookModeHasNoLongConnection(t *testing.T) {
	fake := feishufake.New(feishufake.Options{AppID: "cli_ws0003", AppSecret: "s-0003"})
	t.Cleanup(fake.Close)
	s, srv, _ := newWSServer(t, fake, "s-0003")
	s.cfg.Feishu.Delivery, s.lc = config.DeliveryWebhook, nil
	s.SetReady(true)
	s.Connect()
	stop(t, s)
	if s.Failed() != nil {
		t.Error("Failed is not nil in webhook mode")
	}
	if status, body := healthz(t, srv); status != http.StatusOK || body["long_connection"] != nil {
		t.Errorf("healthz %d %v", status, body)
	}
}

func TestScrub(t *testing.T) {
	for in, want := range map[string]string{
		`dial wss://msg-frontier.feishu.cn/ws/v2?access_key=k&ticket=t1: refused`: `dial wss://msg-frontier.feishu.cn: refused`,
		`Post "https://open.feishu.cn/callback/ws/endpoint": EOF`:                 `Post "https://open.feishu.cn": EOF`,
		`400: app secret invalid (sec-123)`:                                       `400: app secret invalid ([redacted])`,
		`no url here`:                                                             `no url here`,
	} {
		if got := scrub(in, "sec-123"); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
	if !errors.Is(fmt.Errorf("%w: x", errRefused), errRefused) {
		t.Error("a long-connection refusal does not wrap errRefused")
	}
}
