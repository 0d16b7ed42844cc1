package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/app"
	"acsbot/config"
	"acsbot/feishufake"
	"acsbot/store"
)

// The people and chats of the test tenant.
const (
	adminID    = "ou_admin00000000000000000000000001"
	readerID   = "ou_reader0000000000000000000000002"
	outsiderID = "ou_outsider000000000000000000000003"
	readerChat = "oc_readers000000000000000000000001"
	otherChat  = "oc_elsewhere0000000000000000000002"
	verifyTok  = "vtoken-test-0001"
	encryptKey = "ekey-test-0001"
)

var secretSeq atomic.Int64

// harness is the real bot (config, store, SDK client, gin server) on 127.0.0.1,
// pointed at a fake Feishu open platform.
type harness struct {
	t        testing.TB
	fake     *feishufake.Server
	cfg      *config.Config
	app      *app.App
	srv      *httptest.Server
	storeDir string
	clock    *testClock // nil: real time
	logs     io.Writer  // nil: the bot's log is discarded (shown with -v)
	opts     harnessOpts
}

type harnessOpts struct {
	plain bool // no encrypt key: events come in plain text, unsigned
	users []acs.User
	// clock, when set, is both the bot's and the fake platform's clock, so signed
	// events stay inside the replay window however far a test moves it.
	clock *testClock
	// logs, when set, receives the bot's log at debug level, for tests that read it.
	logs io.Writer
	// callTimeout and jobTimeout, when set, shorten the bot's Feishu call and
	// command timeouts (app.Options), for tests of calls that hang.
	callTimeout, jobTimeout time.Duration
}

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// shanghai is push.timezone in every harness.
var shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a moment of local time in push.timezone.
func at(day string, hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	key := encryptKey
	if o.plain {
		key = ""
	}
	// The SDK's token cache is process-wide and keyed by app id and secret: a secret of
	// its own keeps each test's fake apart.
	secret := fmt.Sprintf("secret-%s-%d", t.Name(), secretSeq.Add(1))
	fo := feishufake.Options{AppID: "cli_test0001", AppSecret: secret, VerificationToken: verifyTok, EncryptKey: key}
	if o.clock != nil {
		fo.Now = o.clock.Now
	}
	fake := feishufake.New(fo)
	t.Cleanup(fake.Close)
	users := o.users
	if users == nil {
		users = feishufake.GenerateUsers(120, 1)
	}
	fake.SetUsers(users)
	fake.SetChat(readerChat, "Facility team")
	fake.SetChat(otherChat, "Lunch")

	h := &harness{t: t, fake: fake, storeDir: t.TempDir(), clock: o.clock, logs: o.logs, opts: o}
	yaml := fmt.Sprintf(`
server: {addr: "127.0.0.1:0"}
feishu: {app_id: cli_test0001, delivery: webhook, base_url: %q}
acs: {user_id_type: open_id, cache_ttl: 10m}
bot: {language: zh_cn}
access: {admins: [%q], chats: [%q]}
store: {path: %q}
push: {timezone: Asia/Shanghai}
`, fake.URL(), adminID, readerChat, h.storeDir+"/acsbot.db")
	env := map[string]string{
		"ACSBOT_FEISHU_APP_SECRET":         secret,
		"ACSBOT_FEISHU_VERIFICATION_TOKEN": verifyTok,
		"ACSBOT_FEISHU_ENCRYPT_KEY":        key,
	}
	cfg, err := config.Parse([]byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	h.cfg = cfg
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	switch {
	case h.logs != nil:
		log = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	case testing.Verbose():
		log = slog.New(slog.NewTextHandler(testWriter{h.t}, nil))
	}
	opts := app.Options{Logger: log, CallTimeout: h.opts.callTimeout, JobTimeout: h.opts.jobTimeout}
	if h.clock != nil {
		opts.Now = h.clock.Now
	}
	a, err := app.New(context.Background(), h.cfg, opts)
	if err != nil {
		h.t.Fatalf("app.New: %v", err)
	}
	a.Start()
	h.app = a
	h.srv = httptest.NewServer(a.Handler())
	h.t.Cleanup(h.stop)
}

// stop shuts the bot down as SIGTERM would; safe to call twice.
func (h *harness) stop() {
	if h.app == nil {
		return
	}
	h.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.app.Shutdown(ctx); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
	h.app = nil
}

// restart stops the bot and starts a new one on the same store.
func (h *harness) restart() {
	h.stop()
	h.start()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// deliver posts a payload to the webhook the way Feishu does and returns the status.
func (h *harness) deliver(payload any, opts ...feishufake.RequestOption) (int, []byte) {
	h.t.Helper()
	status, body, err := h.fake.Deliver(context.Background(), h.srv.URL+"/webhook/event", payload, opts...)
	if err != nil {
		h.t.Fatalf("deliver: %v", err)
	}
	return status, body
}

// say sends a chat message to the bot and returns its event.
func (h *harness) say(chatType, chatID, sender, text string) feishufake.Envelope {
	h.t.Helper()
	ev := h.fake.MessageEvent(feishufake.UserMessage{
		ChatID: chatID, ChatType: chatType, SenderOpenID: sender, Text: text, MentionBot: chatType == "group",
	})
	if status, body := h.deliver(ev); status != 200 {
		h.t.Fatalf("deliver %q: status %d: %s", text, status, body)
	}
	return ev
}

// replyTo waits for the bot's reply to a message and returns it.
func (h *harness) replyTo(messageID string) feishufake.Message {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range h.fake.Messages() {
			if m.Kind == "reply" && m.ParentID == messageID {
				return m
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, _ = h.fake.WaitMessages(ctx, len(h.fake.Messages())+1)
		cancel()
	}
	h.t.Fatalf("no reply to %s within 10s; messages: %+v", messageID, h.fake.Messages())
	return feishufake.Message{}
}

// repliesTo counts the bot's replies to a message.
func (h *harness) repliesTo(messageID string) int {
	n := 0
	for _, m := range h.fake.Messages() {
		if m.Kind == "reply" && m.ParentID == messageID {
			n++
		}
	}
	return n
}

// messageID reads the message id out of a message event.
func messageID(t testing.TB, ev feishufake.Envelope) string {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Event struct {
			Message struct {
				MessageID string `json:"message_id"`
			} `json:"message"`
		} `json:"event"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Event.Message.MessageID == "" {
		t.Fatalf("no message id in %s", b)
	}
	return v.Event.Message.MessageID
}

// texts returns every string in a card's JSON, so tests can look for what a person
// would read without depending on the card's layout.
func texts(t testing.TB, cardJSON string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(cardJSON), &v); err != nil {
		t.Fatalf("card is not JSON: %v: %s", err, cardJSON)
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			b.WriteString(x)
			b.WriteByte('\n')
		case float64:
			fmt.Fprintf(&b, "%v\n", x)
		}
	}
	walk(v)
	return b.String()
}

// db opens the bot's store beside the running bot (SQLite in WAL mode takes both),
// so a test can look at what the bot recorded.
func (h *harness) db() *store.Store {
	h.t.Helper()
	st, err := store.Open(h.cfg.Store.Path)
	if err != nil {
		h.t.Fatalf("open store: %v", err)
	}
	h.t.Cleanup(func() { _ = st.Close() })
	return st
}

// eventually waits up to 10 s for cond to hold.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ask sends a command and returns the text of the bot's reply card, markdown
// escapes removed.
func (h *harness) ask(chatType, chatID, sender, text string) string {
	h.t.Helper()
	ev := h.say(chatType, chatID, sender, text)
	return readable(texts(h.t, h.replyTo(messageID(h.t, ev)).Content))
}

var markdownEscape = regexp.MustCompile(`\\(.)`)

// readable drops the backslashes that escape markdown, as a reader sees the text.
func readable(s string) string { return markdownEscape.ReplaceAllString(s, "$1") }

// callbackValues returns the value of every callback button in a card.
func callbackValues(t testing.TB, cardJSON string) []map[string]any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(cardJSON), &v); err != nil {
		t.Fatalf("card is not JSON: %v: %s", err, cardJSON)
	}
	var out []map[string]any
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if val, ok := x["value"].(map[string]any); ok && x["type"] == "callback" {
				out = append(out, val)
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
