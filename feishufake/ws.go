package feishufake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	larkws "github.com/larksuite/oapi-sdk-go/v3/ws"
)

// The long connection (feishu-platform.md §8, sdk-notes.md §8): the SDK client posts
// the app id and secret to pathWSEndpoint, gets a WebSocket URL and a ClientConfig,
// dials the URL and then reads protobuf frames (larkws.Frame) carrying schema 2.0
// events, and writes back one ack frame per event. Feishu's WebSocket lives on another
// host; here it shares the endpoint's prefix so the demo mounts both with one route.
const (
	pathWSEndpoint = larkws.GenEndpointUri
	pathWS         = "/callback/ws/v2"
)

// wsServiceID is the service_id of the URL, which the SDK echoes in every ping.
const wsServiceID = 1

// wsWriteTimeout bounds one frame write, so a client that stopped reading cannot
// hold a push for ever (the SDK uses the same 10 s for its writes).
const wsWriteTimeout = 10 * time.Second

// Feishu re-pushes an unacknowledged event 4 times (after 15 s, 5 min, 1 h, 6 h:
// feishu-platform.md §1.5); the fake keeps the count but uses one interval,
// Options.WSRepushAfter, so a test does not wait for the ladder.
const maxRepush = 4

// callbackTimeout is how long Feishu waits for the answer to a card callback; a
// callback is never pushed again (feishu-platform.md §8.1).
const callbackTimeout = 3 * time.Second

// maxTickets bounds the tickets handed out and not yet used: a client that fetches
// endpoints and never dials must not grow the map without limit.
const maxTickets = 1000

// WSClientConfig is the ClientConfig Feishu hands the SDK's long-connection client
// with the endpoint and with every pong. The SDK replaces all four of its settings
// with it, a missing field counting as 0, so all four are always sent.
type WSClientConfig struct {
	ReconnectCount    int // attempts after a drop; -1 = for ever, 0 = none
	ReconnectInterval int // seconds between attempts
	ReconnectNonce    int // seconds: the first attempt waits a random part of it; 0 = at once
	PingInterval      int // seconds; keep it >= 1, as 0 makes the SDK ping without pause
}

// feishuWSConfig is what the real service answers (feishu-platform.md §8.1).
var feishuWSConfig = WSClientConfig{ReconnectCount: -1, ReconnectInterval: 120, ReconnectNonce: 30, PingInterval: 120}

// WSAck is the answer the SDK client wrote back for one pushed frame.
type WSAck struct {
	MessageID string // the pushed frame's message_id, which the ack repeats
	Code      int    // 200: handled; 500: the handler failed or none is registered
	BizRT     int    // the handler's run time in ms (biz_rt header)
	Data      []byte // a callback's answer (JSON, base64-decoded); nil for events
}

// WSFrame is one frame of the long connection, as an inspector shows it.
type WSFrame struct {
	At        time.Time
	Conn      int    // the connection, counted from 1 in the order they opened
	Dir       string // "down": Feishu to the bot (pushes, pongs); "up": acks and pings
	Type      string // the frame's type header: event, ping or pong; an ack repeats its push's
	MessageID string // data frames only
	EventID   string // pushes only: a re-push keeps the event id under a new message id
	EventType string // pushes only
	Code      int    // acks only
	// Payload is the event of a push with its verification and card update tokens
	// hidden, the decoded answer of an ack, the ClientConfig of a pong.
	Payload string
}

// wsConn is one open WebSocket. gorilla allows one writer at a time, and pushes,
// pongs and the read loop's answers come from different goroutines.
type wsConn struct {
	n   int
	c   *websocket.Conn
	wmu sync.Mutex
}

func (c *wsConn) write(fr *larkws.Frame) error {
	b, err := fr.Marshal()
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.c.SetWriteDeadline(time.Now().Add(wsWriteTimeout)); err != nil {
		return err
	}
	return c.c.WriteMessage(websocket.BinaryMessage, b)
}

// wsHub is the state of the long connections; it has its own lock because the read
// loops take it on every frame.
type wsHub struct {
	mu      sync.Mutex
	open    map[*wsConn]struct{}
	total   int
	opened  chan struct{}         // closed and replaced whenever a connection opens
	tickets map[string]struct{}   // granted by the endpoint, used once by a dial
	waiting map[string]chan WSAck // message id of a push -> where its ack goes
	frames  []WSFrame             // ring of the last maxCalls frames
	next    int
}

func newWSHub() *wsHub {
	return &wsHub{
		open:    map[*wsConn]struct{}{},
		opened:  make(chan struct{}),
		tickets: map[string]struct{}{},
		waiting: map[string]chan WSAck{},
	}
}

// WSConnections reports the long connections open now and all those opened so far:
// a client that reconnected after a drop has one open and two in total.
func (s *Server) WSConnections() (open, total int) {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	return len(s.ws.open), s.ws.total
}

// DropWSConnections closes every open long connection without a close frame, as a
// network failure or a restart on Feishu's side does, and reports how many it closed.
// Pushes in flight on them get no ack and are pushed again.
func (s *Server) DropWSConnections() int {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	for c := range s.ws.open {
		_ = c.c.Close() // the read loop sees the error and forgets the connection
	}
	return len(s.ws.open)
}

// WSFrames returns the last 1000 frames pushed and read, oldest first.
func (s *Server) WSFrames() []WSFrame {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	if len(s.ws.frames) < maxCalls {
		return append([]WSFrame(nil), s.ws.frames...)
	}
	out := make([]WSFrame, 0, maxCalls)
	out = append(out, s.ws.frames[s.ws.next:]...)
	return append(out, s.ws.frames[:s.ws.next]...)
}

func (s *Server) logFrame(f WSFrame) {
	f.At = s.opts.Now()
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	if len(s.ws.frames) < maxCalls {
		s.ws.frames = append(s.ws.frames, f)
		return
	}
	s.ws.frames[s.ws.next] = f
	s.ws.next = (s.ws.next + 1) % maxCalls
}

// handleWSEndpoint checks the app's credentials as the tenant token API does and
// grants one dial of the WebSocket. The SDK takes an HTTP status other than 200 as
// a server error and tries again later, which is what a wrong secret gets from
// Feishu (HTTP 400, code 10014, as reported by users of the SDKs).
func (s *Server) handleWSEndpoint(w *apiWriter, r *http.Request, body []byte) {
	var req larkws.BootstrapRequest
	if !s.credentialsOK(w, json.Unmarshal(body, &req), req.AppID, req.AppSecret) {
		return
	}
	ticket := randomHex(32)
	s.ws.mu.Lock()
	for t := range s.ws.tickets {
		if len(s.ws.tickets) < maxTickets {
			break
		}
		delete(s.ws.tickets, t)
	}
	s.ws.tickets[ticket] = struct{}{}
	s.ws.mu.Unlock()
	scheme := "ws"
	if r.TLS != nil {
		scheme = "wss"
	}
	q := url.Values{larkws.DeviceID: {randomHex(16)}, larkws.ServiceID: {strconv.Itoa(wsServiceID)}, "ticket": {ticket}}
	w.ok(map[string]any{
		"URL":          (&url.URL{Scheme: scheme, Host: r.Host, Path: pathWS, RawQuery: q.Encode()}).String(),
		"ClientConfig": s.opts.WS,
	})
}

var wsUpgrader = websocket.Upgrader{HandshakeTimeout: 10 * time.Second}

// handleWS serves one long connection: it answers pings and hands acks to the pushes
// that wait for them, until the client or DropWSConnections closes it, or the fake
// closes.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.ws.mu.Lock()
	_, granted := s.ws.tickets[ticket]
	delete(s.ws.tickets, ticket)
	s.ws.mu.Unlock()
	if !granted {
		// Any status but 403 and 514 makes the SDK fetch a new endpoint and retry.
		http.Error(w, "ticket invalid", http.StatusUnauthorized)
		return
	}
	c, err := wsUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	s.ws.mu.Lock()
	s.ws.total++
	conn := &wsConn{n: s.ws.total, c: c}
	s.ws.open[conn] = struct{}{}
	close(s.ws.opened)
	s.ws.opened = make(chan struct{})
	s.ws.mu.Unlock()

	stop := make(chan struct{})
	defer func() {
		close(stop)
		s.ws.mu.Lock()
		delete(s.ws.open, conn)
		s.ws.mu.Unlock()
		_ = c.Close()
	}()
	go func() { // a hijacked connection outlives the HTTP server's Close
		select {
		case <-s.done:
			_ = c.Close()
		case <-stop:
		}
	}()
	for {
		kind, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		var fr larkws.Frame
		if kind != websocket.BinaryMessage || fr.Unmarshal(msg) != nil {
			continue // the SDK sends nothing else; a stray message is not worth a drop
		}
		switch larkws.FrameType(fr.Method) {
		case larkws.FrameTypeControl:
			s.answerPing(conn, fr)
		case larkws.FrameTypeData:
			s.readAck(conn, fr)
		}
	}
}

// answerPing answers a ping with a pong that carries the ClientConfig, as Feishu
// does: the SDK applies it, so a changed config reaches connected clients.
func (s *Server) answerPing(conn *wsConn, ping larkws.Frame) {
	hs := larkws.Headers(ping.Headers)
	if hs.GetString(larkws.HeaderType) != string(larkws.MessageTypePing) {
		return
	}
	s.logFrame(WSFrame{Conn: conn.n, Dir: "up", Type: string(larkws.MessageTypePing)})
	cfg, _ := json.Marshal(s.opts.WS) // a struct of ints always marshals
	pong := larkws.Frame{
		SeqID: ping.SeqID, LogID: ping.LogID, Service: ping.Service,
		Method:  int32(larkws.FrameTypeControl),
		Headers: []larkws.Header{{Key: larkws.HeaderType, Value: string(larkws.MessageTypePong)}},
		Payload: cfg,
	}
	if conn.write(&pong) == nil {
		s.logFrame(WSFrame{Conn: conn.n, Dir: "down", Type: string(larkws.MessageTypePong), Payload: string(cfg)})
	}
}

// readAck hands an ack to the push waiting for it. An ack may come on another
// connection than its push (the SDK writes it on the connection it has when the
// handler returns), and late: a push no longer waiting only logs it.
func (s *Server) readAck(conn *wsConn, fr larkws.Frame) {
	hs := larkws.Headers(fr.Headers)
	ack := WSAck{MessageID: hs.GetString(larkws.HeaderMessageID), BizRT: hs.GetInt(larkws.HeaderBizRt)}
	var resp larkws.Response
	if json.Unmarshal(fr.Payload, &resp) == nil { // else Code 0: a broken ack counts as none
		ack.Code, ack.Data = resp.StatusCode, resp.Data
	}
	s.logFrame(WSFrame{
		Conn: conn.n, Dir: "up", Type: hs.GetString(larkws.HeaderType), MessageID: ack.MessageID,
		Code: ack.Code, Payload: s.redact(ack.Data),
	})
	s.ws.mu.Lock()
	ch := s.ws.waiting[ack.MessageID]
	delete(s.ws.waiting, ack.MessageID) // a second ack for the same push is ignored
	s.ws.mu.Unlock()
	if ch != nil {
		ch <- ack // buffered, and only the deleter sends
	}
}

// errNoAck is a push that no connection took or no ack answered in time.
var errNoAck = errors.New("no ack in time")

// PushEvent pushes ev over the long connection as Feishu does, in plain JSON as a
// data frame of type "event", to one open connection chosen at random (Feishu's
// cluster mode). It waits for the ack; when none with code 200 comes within
// Options.WSRepushAfter, or no client is connected, it pushes the same event again
// under a new message id, 4 times at most. It returns the 200 ack, or the last ack
// with an error once the pushes are spent, ctx ends or the fake closes.
func (s *Server) PushEvent(ctx context.Context, ev Envelope) (WSAck, error) {
	var last WSAck
	for push := 1; ; push++ {
		start := time.Now()
		ack, err := s.pushOnce(ctx, ev, s.opts.WSRepushAfter)
		switch {
		case err == nil && ack.Code == http.StatusOK:
			return ack, nil
		case err == nil:
			last = ack // the handler failed: Feishu pushes again when the interval is up
		case !errors.Is(err, errNoAck):
			return last, err
		}
		if push > maxRepush {
			return last, fmt.Errorf("event %s pushed %d times, never acknowledged with 200", ev.EventID(), push)
		}
		if !s.wait(ctx, s.opts.WSRepushAfter-time.Since(start)) {
			return last, s.stopped(ctx)
		}
	}
}

// ClickWS plays a button click whose card.action.trigger callback goes over the long
// connection, as Click does for a callback URL, and returns the same result: Status
// is the ack's code and Answer the decoded answer. The callback goes as an "event"
// frame: the SDK drops "card" frames unanswered (sdk-notes.md §8.4), and
// card.action.trigger has been seen arriving as "event" (feishu-platform.md §8.2).
// Like Feishu it waits 3 s for the answer and never pushes a callback again.
func (s *Server) ClickWS(ctx context.Context, a CardAction) (ClickResult, error) {
	defer s.lockCard(a.MessageID)()
	ev := s.CardActionEvent(a)
	res := ClickResult{Event: ev}
	ack, err := s.pushOnce(ctx, ev, callbackTimeout)
	if errors.Is(err, errNoAck) {
		return res, fmt.Errorf("card callback: no answer over the long connection within %v", callbackTimeout)
	}
	if err != nil {
		return res, err
	}
	res.Status, res.Answer = ack.Code, ack.Data
	if ack.Code != http.StatusOK {
		return res, fmt.Errorf("card callback answered code %d", ack.Code)
	}
	s.applyAnswer(&res, a.MessageID)
	return res, nil
}

// PushRaw pushes payload as it is, once, as the data frame of an event, and waits
// Options.WSRepushAfter for its ack: a test's way to send what Feishu would not
// (broken JSON, an event type nobody subscribed to, a huge event) and see what the
// client answers. It never pushes again.
func (s *Server) PushRaw(ctx context.Context, payload []byte) (WSAck, error) {
	return s.pushPayload(ctx, payload, WSFrame{Payload: s.redact(payload)}, s.opts.WSRepushAfter)
}

// pushOnce pushes ev once under a fresh message id and waits up to timeout for its
// ack, the wait for a connection included.
func (s *Server) pushOnce(ctx context.Context, ev Envelope, timeout time.Duration) (WSAck, error) {
	payload, err := marshal(ev)
	if err != nil {
		return WSAck{}, fmt.Errorf("marshal event payload: %w", err)
	}
	return s.pushPayload(ctx, payload, WSFrame{EventID: ev.EventID(), EventType: ev.Header.EventType, Payload: s.loggedEvent(ev)}, timeout)
}

// pushPayload pushes payload once under a fresh message id, logs it as logged says,
// and waits up to timeout for its ack, the wait for a connection included. A write
// that fails is a lost push: Feishu learns of it only when no ack comes.
func (s *Server) pushPayload(ctx context.Context, payload []byte, logged WSFrame, timeout time.Duration) (WSAck, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	id := randomHex(32)
	acked := make(chan WSAck, 1)
	s.ws.mu.Lock()
	s.ws.waiting[id] = acked
	s.ws.mu.Unlock()
	defer func() {
		s.ws.mu.Lock()
		delete(s.ws.waiting, id)
		s.ws.mu.Unlock()
	}()
	conn, err := s.waitConn(ctx, timer.C)
	if err != nil {
		return WSAck{}, err
	}
	fr := larkws.Frame{
		Service: wsServiceID,
		Method:  int32(larkws.FrameTypeData),
		Headers: []larkws.Header{
			{Key: larkws.HeaderType, Value: string(larkws.MessageTypeEvent)},
			{Key: larkws.HeaderMessageID, Value: id},
			{Key: larkws.HeaderTraceID, Value: randomHex(32)},
			{Key: larkws.HeaderSum, Value: "1"},
			{Key: larkws.HeaderSeq, Value: "0"},
			{Key: larkws.HeaderTimestamp, Value: msToString(s.opts.Now())},
		},
		Payload: payload,
	}
	if conn.write(&fr) == nil {
		logged.Conn, logged.Dir, logged.Type, logged.MessageID = conn.n, "down", string(larkws.MessageTypeEvent), id
		s.logFrame(logged)
	}
	select {
	case ack := <-acked:
		return ack, nil
	case <-timer.C:
		return WSAck{}, errNoAck
	case <-ctx.Done():
		return WSAck{}, ctx.Err()
	case <-s.done:
		return WSAck{}, s.stopped(ctx)
	}
}

// waitConn picks an open connection at random, waiting for one until expired fires
// (errNoAck), ctx ends or the fake closes.
func (s *Server) waitConn(ctx context.Context, expired <-chan time.Time) (*wsConn, error) {
	for {
		s.ws.mu.Lock()
		var conn *wsConn
		if n := len(s.ws.open); n > 0 {
			skip := rand.N(n)
			for c := range s.ws.open {
				if skip == 0 {
					conn = c
					break
				}
				skip--
			}
		}
		opened := s.ws.opened
		s.ws.mu.Unlock()
		if conn != nil {
			return conn, nil
		}
		select {
		case <-opened:
		case <-expired:
			return nil, errNoAck
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, s.stopped(ctx)
		}
	}
}

// stopped is the error of a wait cut short by ctx or by Close.
func (s *Server) stopped(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("feishufake: server closed")
}

// loggedEvent is a pushed event as the frame log keeps it: the verification token
// and a callback's card update token are credentials, so both are hidden.
func (s *Server) loggedEvent(ev Envelope) string {
	if ev.Header.Token != "" {
		ev.Header.Token = "[redacted]"
	}
	if body, ok := ev.Event.(map[string]any); ok {
		if _, has := body["token"]; has {
			body = maps.Clone(body) // the pushed event must stay as it is
			body["token"] = "[redacted]"
			ev.Event = body
		}
	}
	b, err := marshal(ev)
	if err != nil {
		return ""
	}
	return s.redact(b)
}
