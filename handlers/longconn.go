package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkws "github.com/larksuite/oapi-sdk-go/v3/ws"
)

// The long connection (feishu-platform.md §8): the SDK's WebSocket client dials out
// with the app id and secret and hands every event and card callback to the same
// dispatcher the webhook uses. The SDK acks a frame when the handler returns, and
// the handlers only record and queue, so the ack goes out within milliseconds of
// the record. It reconnects by itself; this file watches it: the state for
// /healthz, the metrics, one log line per state change, and a clean stop.

// The states of the long connection, as /healthz names them.
const (
	connConnecting   = "connecting"   // before the first connection
	connUp           = "up"           // events flow
	connReconnecting = "reconnecting" // dropped; the SDK is dialling again
	connClosed       = "closed"       // stopped by the bot
	connFailed       = "failed"       // the SDK gave up: no event reaches the bot
)

// longConn runs the SDK's long-connection client and keeps its state.
type longConn struct {
	cli     *larkws.Client
	log     *slog.Logger
	s       *Server
	failed  chan error    // receives the error that ended the connection for good
	done    chan struct{} // closed when the client's run has returned
	started atomic.Bool
	closing atomic.Bool

	mu        sync.Mutex
	state     string
	everUp    bool
	lastErr   string // the SDK's last error, URLs cut to their host
	loggedErr string // the last error logged, so a retry loop logs it once
}

func newLongConn(s *Server) *longConn {
	lc := &longConn{s: s, log: s.log, state: connConnecting, failed: make(chan error, 1), done: make(chan struct{})}
	lc.cli = larkws.NewClient(s.cfg.Feishu.AppID, s.cfg.Feishu.AppSecret.Value(),
		larkws.WithDomain(s.cfg.Feishu.BaseURL),
		larkws.WithEventHandler(s.dispatcher),
		larkws.WithLogger(wsLogger{log: s.log, secret: s.cfg.Feishu.AppSecret.Value()}),
		larkws.WithAutoReconnect(true),
		larkws.WithOnReady(func() { lc.up(false) }),
		larkws.WithOnReconnected(func() { lc.up(true) }),
		larkws.WithOnDisconnected(lc.down),
		larkws.WithOnReconnecting(lc.reconnecting),
		larkws.WithOnError(lc.error),
	)
	return lc
}

// start runs the client until stop, or until it gives up (a refused app, the
// reconnect attempts spent), which failed then reports.
func (lc *longConn) start() {
	lc.started.Store(true)
	go func() {
		defer close(lc.done)
		err := lc.cli.Start(context.Background())
		if err == nil || lc.closing.Load() {
			return
		}
		lc.set(connFailed)
		lc.log.Error("long connection ended; no event reaches the bot until it restarts", "err", scrub(err.Error(), lc.s.cfg.Feishu.AppSecret.Value()))
		lc.failed <- err
	}()
}

// stop closes the connection and waits, until ctx ends, for the handlers in hand to
// return. Their acks are lost with the connection: Feishu pushes those events again,
// and the inbox, which has recorded them, answers each once.
func (lc *longConn) stop(ctx context.Context) error {
	if !lc.started.Load() {
		return nil
	}
	lc.closing.Store(true)
	if err := lc.cli.CloseAndWait(ctx); err != nil {
		return fmt.Errorf("close the long connection: %w", err)
	}
	select {
	case <-lc.done:
	case <-ctx.Done():
		return fmt.Errorf("close the long connection: %w", ctx.Err())
	}
	lc.set(connClosed)
	lc.log.Info("long connection closed")
	return nil
}

func (lc *longConn) set(state string) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.state = state
	if state == connUp {
		lc.everUp = true
		lc.lastErr, lc.loggedErr = "", ""
	}
}

// status is the connection's state and, while it is not up, the last error.
func (lc *longConn) status() (state, lastErr string) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.state == connUp {
		return lc.state, ""
	}
	return lc.state, lc.lastErr
}

func (lc *longConn) up(reconnected bool) {
	lc.mu.Lock()
	again := reconnected && lc.everUp
	lc.mu.Unlock()
	lc.set(connUp)
	lc.s.metrics.LongConnUp.Set(1)
	if again {
		lc.s.metrics.LongConnReconnects.Inc()
		lc.log.Info("long connection up again")
		return
	}
	lc.log.Info("long connection up", "base_url", lc.s.cfg.Feishu.BaseURL)
}

func (lc *longConn) down() {
	lc.s.metrics.LongConnUp.Set(0)
	if lc.closing.Load() {
		return // stop says it once
	}
	lc.set(connReconnecting)
	lc.log.Warn("long connection down")
}

// reconnecting comes after down, and on a first connection that failed; only the
// latter is news.
func (lc *longConn) reconnecting() {
	lc.mu.Lock()
	first := lc.state == connConnecting
	lc.mu.Unlock()
	if first {
		lc.set(connReconnecting)
		lc.log.Warn("long connection not up yet; trying again")
	}
}

// error keeps the SDK's error for /healthz and logs it when it differs from the
// last one: a wrong secret fails every attempt, for ever, with the same error.
func (lc *longConn) error(err error) {
	msg := scrub(err.Error(), lc.s.cfg.Feishu.AppSecret.Value())
	lc.mu.Lock()
	lc.lastErr = msg
	news := msg != lc.loggedErr
	lc.loggedErr = msg
	lc.mu.Unlock()
	if news {
		lc.log.Warn("long connection error; the SDK keeps trying", "err", msg)
	}
}

// endpointURL matches the URLs an SDK error may quote: the WebSocket URL carries a
// ticket (and on Feishu an access key) in its query.
var endpointURL = regexp.MustCompile(`(?i)\b(?:wss?|https?)://[^\s"'<>]+`)

// scrub cuts every URL in s to its scheme and host and hides the app secret, so an
// error can be logged and shown on /healthz.
func scrub(s, secret string) string {
	s = endpointURL.ReplaceAllStringFunc(s, func(raw string) string {
		trimmed := strings.TrimRight(raw, ":,.;)")
		u, err := url.Parse(trimmed)
		if err != nil || u.Host == "" {
			return "[url]"
		}
		return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String() + raw[len(trimmed):]
	})
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// wsLogger is what the SDK's long-connection client logs through. Its Debug lines
// carry whole events (user ids, message text) and its Info lines repeat the state
// changes the callbacks above log once, so both are dropped; its warnings repeat
// OnError and go to Debug; its errors (a frame it could not decode, a handler that
// failed or refused an event, an event type the bot does not handle) are warnings.
type wsLogger struct {
	log    *slog.Logger
	secret string
}

func (wsLogger) Debug(context.Context, ...interface{}) {}
func (wsLogger) Info(context.Context, ...interface{})  {}

func (l wsLogger) Warn(ctx context.Context, args ...interface{}) {
	l.log.DebugContext(ctx, "long connection: "+scrub(fmt.Sprint(args...), l.secret))
}

func (l wsLogger) Error(ctx context.Context, args ...interface{}) {
	l.log.WarnContext(ctx, "long connection: "+scrub(fmt.Sprint(args...), l.secret))
}

var _ larkcore.Logger = wsLogger{}
