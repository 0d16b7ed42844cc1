// Package feishufake is a fake Feishu (Lark) open platform for tests and the demo.
// The real SDK client is pointed at it (lark.WithOpenBaseUrl(s.URL())) and it answers
// as the platform does: tenant tokens, the ACS user list with opaque page tokens,
// latency and faults on demand, bot info, chats, and the message create, reply and
// patch APIs, whose calls it records. It also builds the events Feishu sends to a bot,
// encrypted and signed exactly as Feishu does, so the bot's webhook can be driven with
// the real SDK dispatcher on the other side.
package feishufake

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"acsbot/acs"
)

// Options configure the fake app and tenant. The SDK client under test must use the
// same AppID and AppSecret, and the bot's dispatcher the same VerificationToken and
// EncryptKey.
type Options struct {
	AppID, AppSecret, VerificationToken string
	EncryptKey                          string // "" = events go in plain text, unsigned
	BotOpenID, BotName                  string // defaults: "ou_" + 32 hex derived from AppID; "ACS Bot"
	TenantKey                           string // default "tenant_fake"
	// Now is the platform's clock: token lifetimes, the uuid window, message and
	// event timestamps. Default time.Now.
	Now func() time.Time
	// WS is the ClientConfig the long-connection endpoint and every pong hand the
	// SDK client; nil = Feishu's (-1 reconnects, 120 s apart, first within 30 s,
	// ping every 120 s). Tests shorten it.
	WS *WSClientConfig
	// WSRepushAfter is how long an event pushed over the long connection waits for a
	// 200 ack before it is pushed again. Default 15 s, Feishu's first retry.
	WSRepushAfter time.Duration
}

func (o Options) withDefaults() Options {
	if o.BotOpenID == "" {
		o.BotOpenID = "ou_" + hashHex("bot:"+o.AppID, 32)
	}
	if o.BotName == "" {
		o.BotName = "ACS Bot"
	}
	if o.TenantKey == "" {
		o.TenantKey = "tenant_fake"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.WS == nil {
		cfg := feishuWSConfig
		o.WS = &cfg
	}
	if o.WSRepushAfter <= 0 {
		o.WSRepushAfter = 15 * time.Second
	}
	return o
}

// maxCalls bounds the call log so a long demo run does not grow without limit.
const maxCalls = 1000

// maxLoggedBody bounds each body kept in the call log: cards are up to 30 KB, and a
// full log of them would hold tens of megabytes for no one to read.
const maxLoggedBody = 8 << 10

// maxRequestBody is far above every documented body limit (150 KB for text), so the
// size checks of the message APIs see real sizes, yet a runaway client cannot exhaust
// memory.
const maxRequestBody = 4 << 20

// Server is a fake Feishu open platform. All methods are safe for concurrent use.
type Server struct {
	opts    Options
	ts      *httptest.Server // nil when built by NewHandler
	handler http.Handler
	pageKey []byte        // signs page tokens, so a foreign or garbled token is detected
	done    chan struct{} // closed by Close: releases requests held by latency or FaultHang
	close   sync.Once

	mu          sync.Mutex
	users       []acs.User
	latency     time.Duration
	faults      faults[Fault]
	msgFaults   faults[MessageFault]
	acsCalls    int
	acsGetCalls int
	tokenReqs   int
	tokens      map[string]tokenState // every token ever issued
	current     string                // the token handed out while it has 30 min or more left
	chats       map[string]string     // chat id -> name
	userMsgs    map[string]string     // message id of a user's message (from MessageEvent) -> chat id
	messages    []Message
	msgIndex    map[string]int       // message id -> index in messages
	uuids       map[string]uuidEntry // uuid -> the message it created
	calls       []Call               // ring of the last maxCalls calls
	callNext    int
	msgArrived  chan struct{}          // closed and replaced whenever a message is recorded
	locked      map[string]int         // message id -> clicks on its card in flight
	answerDelay time.Duration          // how long a client takes to apply a click's answer
	sentAt      map[string][]time.Time // chat id -> its messages in the last second
	// notInDirectory are people the tenant's contact directory does not know.
	notInDirectory map[string]bool
	secretWords    []string // values that must never reach the call log
	quota          quota    // the month's calls as Feishu counts them (quota.go)

	ws *wsHub // the long connections, under their own lock

	doors doorState // devices and door records, under their own lock
}

// New starts a fake platform on 127.0.0.1 on a free port.
func New(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s.handler)
	return s
}

// NewHandler builds a fake platform that does not listen: the caller serves
// s.Handler() itself (the demo mounts it next to the bot).
func NewHandler(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:       opts,
		pageKey:    randomBytes(32),
		done:       make(chan struct{}),
		tokens:     map[string]tokenState{},
		chats:      map[string]string{},
		userMsgs:   map[string]string{},
		msgIndex:   map[string]int{},
		uuids:      map[string]uuidEntry{},
		msgArrived: make(chan struct{}),
		locked:     map[string]int{},
		sentAt:     map[string][]time.Time{},

		notInDirectory: map[string]bool{},
		ws:             newWSHub(),
	}
	for _, w := range []string{opts.AppSecret, opts.EncryptKey, opts.VerificationToken} {
		if w != "" {
			s.secretWords = append(s.secretWords, w)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+pathToken, s.api(s.handleToken))
	mux.HandleFunc("GET "+pathACSUsers, s.api(s.handleListUsers))
	mux.HandleFunc("GET "+pathACSUsers+"/{user_id}", s.api(s.handleGetUser))
	mux.HandleFunc("GET "+pathACSDevices, s.api(s.handleListDevices))
	mux.HandleFunc("GET "+pathACSAccessRecords, s.api(s.handleListRecords))
	mux.HandleFunc("GET /open-apis/bot/v3/info", s.api(s.authed(s.handleBotInfo)))
	mux.HandleFunc("GET /open-apis/im/v1/chats/{chat_id}", s.api(s.authed(s.handleGetChat)))
	mux.HandleFunc("POST /open-apis/im/v1/messages", s.api(s.authed(s.handleCreateMessage)))
	mux.HandleFunc("POST /open-apis/im/v1/messages/{message_id}/reply", s.api(s.authed(s.handleReply)))
	mux.HandleFunc("PATCH /open-apis/im/v1/messages/{message_id}", s.api(s.authed(s.handlePatch)))
	mux.HandleFunc("POST "+pathWSEndpoint, s.api(s.handleWSEndpoint))
	mux.HandleFunc("GET "+pathWS, s.handleWS) // not s.api: the upgrade needs the bare ResponseWriter
	mux.HandleFunc("/", s.api(func(w *apiWriter, r *http.Request, _ []byte) {
		w.fail(http.StatusNotFound, 404, "404 page not found")
	}))
	s.handler = mux
	return s
}

// URL is the base URL to give lark.WithOpenBaseUrl; "" for a server built by NewHandler.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Handler serves the fake open platform's API.
func (s *Server) Handler() http.Handler { return s.handler }

// Close releases requests held by latency or a hang fault and, for a listening
// server, stops it. Safe to call more than once.
func (s *Server) Close() {
	s.close.Do(func() { close(s.done) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// Options returns the options with defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Call is one API request the fake answered, as an inspector would show it. Secrets
// are redacted: app_secret, tenant tokens and the Authorization header are never stored.
type Call struct {
	At           time.Time
	Method, Path string
	Query        string
	Status       int // 0: the client gave up before an answer was written
	Code         int // the envelope's code; 0 for non-JSON answers
	ReqBody      string
	RespBody     string
}

// Calls returns the last 1000 API calls, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) < maxCalls {
		return append([]Call(nil), s.calls...)
	}
	out := make([]Call, 0, maxCalls)
	out = append(out, s.calls[s.callNext:]...)
	return append(out, s.calls[:s.callNext]...)
}

func (s *Server) recordCall(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) < maxCalls {
		s.calls = append(s.calls, c)
		return
	}
	s.calls[s.callNext] = c
	s.callNext = (s.callNext + 1) % maxCalls
}

// apiWriter records what a handler answers, for the call log, and knows the request's
// log id so error bodies can carry it as Feishu's do.
type apiWriter struct {
	http.ResponseWriter
	logID  string
	status int
	body   bytes.Buffer
	// answered sees each JSON answer before it is written: Feishu has counted a
	// call by the time its client reads the answer.
	answered func(status int, body []byte)
}

func (w *apiWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *apiWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := maxLoggedBody + 1 - w.body.Len(); room > 0 {
		w.body.Write(p[:min(len(p), room)])
	}
	return w.ResponseWriter.Write(p)
}

// json writes a JSON answer with the headers the SDK needs: without a JSON
// Content-Type every SDK call fails before it looks at the code.
func (w *apiWriter) json(status int, v any) {
	b, err := marshal(v)
	if err != nil { // only our own literal types are marshalled here
		b = []byte(`{"code":1,"msg":"fake: cannot marshal answer"}`)
		status = http.StatusInternalServerError
	}
	if w.answered != nil {
		w.answered(status, b)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// fail writes Feishu's error envelope.
func (w *apiWriter) fail(status, code int, msg string, violations ...fieldViolation) {
	e := errorBody{LogID: w.logID, FieldViolations: violations}
	w.json(status, envelope{Code: code, Msg: msg, Error: &e})
}

type envelope struct {
	Code  int        `json:"code"`
	Msg   string     `json:"msg"`
	Data  any        `json:"data,omitempty"`
	Error *errorBody `json:"error,omitempty"`
}

type errorBody struct {
	LogID                string                `json:"log_id,omitempty"`
	FieldViolations      []fieldViolation      `json:"field_violations,omitempty"`
	PermissionViolations []permissionViolation `json:"permission_violations,omitempty"`
}

type permissionViolation struct {
	Type        string `json:"type"`
	Subject     string `json:"subject"`
	Description string `json:"description"`
}

type fieldViolation struct {
	Field       string `json:"field"`
	Value       string `json:"value,omitempty"`
	Description string `json:"description"`
}

func (w *apiWriter) ok(data any) {
	w.json(http.StatusOK, envelope{Code: 0, Msg: "success", Data: data})
}

type apiHandler func(w *apiWriter, r *http.Request, body []byte)

// api wraps every route: it reads the body once, stamps the X-Tt-Logid header Feishu
// puts on every answer, refuses counted calls past the monthly quota, counts the
// call as Feishu would, and logs it with secrets redacted.
func (s *Server) api(h apiHandler) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		at := s.opts.Now()
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		w := &apiWriter{ResponseWriter: rw, logID: at.UTC().Format("20060102150405") + hex.EncodeToString(randomBytes(13))}
		w.Header().Set("X-Tt-Logid", w.logID)
		w.answered = func(status int, b []byte) { s.countCall(r, status, codeOf(b)) }
		switch {
		case err != nil:
			w.fail(http.StatusBadRequest, 99992402, "field validation failed: cannot read body")
		case len(body) > maxRequestBody:
			w.fail(http.StatusRequestEntityTooLarge, 99992402, "field validation failed: request body too large")
		case s.quotaRefuses(w, r):
		default:
			h(w, r, body)
		}
		s.recordCall(Call{
			At: at, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Status: w.status, Code: codeOf(w.body.Bytes()),
			ReqBody:  s.redact(body),
			RespBody: s.redact(w.body.Bytes()),
		})
	}
}

func codeOf(body []byte) int {
	var v struct{ Code int }
	if json.Unmarshal(body, &v) != nil {
		return 0
	}
	return v.Code
}

// isSecretKey reports whether a JSON field's value must never reach the call log.
func isSecretKey(k string) bool {
	switch k {
	case "app_secret", "tenant_access_token", "app_access_token", "encrypt_key",
		"AppSecret", "ClientAssertion": // the long-connection endpoint's spelling
		return true
	}
	return false
}

// redact makes a body safe for the call log. JSON secret fields are masked; a body
// that is not JSON is kept only if no configured secret or issued token occurs in it.
func (s *Server) redact(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(body, &v) == nil && maskSecrets(v) {
		if b, err := marshal(v); err == nil {
			body = b
		}
	}
	text := string(body)
	s.mu.Lock()
	words := append([]string(nil), s.secretWords...)
	for t := range s.tokens { // revoked ones too: they are still secrets
		words = append(words, t)
	}
	s.mu.Unlock()
	for _, w := range words {
		text = strings.ReplaceAll(text, w, "[redacted]")
	}
	if len(text) > maxLoggedBody {
		text = text[:maxLoggedBody] + "…(truncated)"
	}
	return text
}

// maskSecrets replaces secret fields anywhere in a decoded JSON value and reports
// whether it changed anything.
func maskSecrets(v any) bool {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if isSecretKey(k) {
				x[k] = "[redacted]"
				changed = true
				continue
			}
			changed = maskSecrets(e) || changed
		}
	case []any:
		for _, e := range x {
			changed = maskSecrets(e) || changed
		}
	}
	return changed
}

// wait holds a request for d, or less if the client gives up or the fake closes. It
// reports whether the full time passed.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// marshal encodes JSON without Go's HTML escaping: Feishu sends "<" and "&" as they
// are, and card markdown is full of them.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}

// randomHex returns n random lower-case hex digits (n even).
func randomHex(n int) string { return hex.EncodeToString(randomBytes(n / 2)) }

// hashHex derives n stable hex digits from s, for ids that must not change between runs.
func hashHex(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

func msToString(t time.Time) string { return fmt.Sprintf("%d", t.UnixMilli()) }
