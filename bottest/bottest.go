// Package bottest is the bot's test kit: it starts the real bot (config, store, SDK
// client, gin server, inbox, core) on 127.0.0.1 against a fake Feishu open platform,
// and lets a test say something as someone in some chat, click a button, move the
// clock, restart the bot and read the calls it made. A package's tests build on it
// instead of wiring the bot by hand:
//
//	b := bottest.New(t, bottest.Options{})
//	card := b.Ask("p2p", bottest.AdminP2P, bottest.AdminID, "/stats")
package bottest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/app"
	"acsbot/clock"
	"acsbot/config"
	"acsbot/feishufake"
	"acsbot/store"
)

// The people and chats of the test tenant.
const (
	AppID      = "cli_test0001"
	AdminID    = "ou_admin00000000000000000000000001"
	ReaderID   = "ou_reader0000000000000000000000002"
	OutsiderID = "ou_outsider000000000000000000000003"
	// ReaderChat is in access.chats: its members may read.
	ReaderChat = "oc_readers000000000000000000000001"
	// OtherChat is a group the bot is in that gives no rights.
	OtherChat = "oc_elsewhere0000000000000000000002"
	// AdminP2P is the admin's direct chat with the bot.
	AdminP2P    = "oc_p2p_admin0000000000000000000001"
	VerifyToken = "vtoken-test-0001"
	EncryptKey  = "ekey-test-0001"
)

// Shanghai is push.timezone in every test bot.
var Shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// At is a moment of local time in push.timezone, e.g. At("2026-11-25", "09:00").
func At(day, hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// Options shape the test bot. The zero value is a bot in webhook mode with signed,
// encrypted events, 120 generated users and real time.
type Options struct {
	// Plain: no encrypt key, so events come in plain text, unsigned.
	Plain bool
	// Users are the ACS directory; nil means 120 generated ones.
	Users []acs.User
	// Clock, when set, is both the bot's and the fake platform's clock, so signed
	// events stay inside the replay window however far a test moves it.
	Clock *clock.Fake
	// Logs, when set, receives the bot's log at debug level, for tests that read it.
	Logs io.Writer
	// LongConnection: events and clicks come over the fake's long connection, the
	// bot's default way in, instead of the webhook.
	LongConnection bool
	// RepushAfter is how long the fake waits for a pushed event's ack before it
	// pushes it again, with LongConnection; 0 means 2 s.
	RepushAfter time.Duration
	// CallTimeout and JobTimeout, when set, shorten the bot's Feishu call and
	// command timeouts (app.Options), for tests of calls that hang.
	CallTimeout, JobTimeout time.Duration
}

// Bot is a running test bot and the fake Feishu it talks to.
type Bot struct {
	T      testing.TB
	Fake   *feishufake.Server
	Config *config.Config
	Clock  *clock.Fake // nil: real time

	app  *app.App
	srv  *httptest.Server
	opts Options
}

var secretSeq atomic.Int64

// Secret is an app secret no other test of the process uses. The SDK's token cache
// is process-wide and keyed by app id and secret: a secret of its own keeps each
// test's fake Feishu apart from the others'.
func Secret(t testing.TB) string {
	return fmt.Sprintf("secret-%s-%d", t.Name(), secretSeq.Add(1))
}

// Tenant is what a test bot's config says of its tenant; YAML writes the config.
type Tenant struct {
	AppID, BaseURL  string
	Delivery        string // websocket or webhook
	Admins, Chats   []string
	StorePath, Zone string
}

// YAML is the bot's config for the tenant, secrets left to the environment.
func (tn Tenant) YAML() string {
	return fmt.Sprintf(`server: {addr: "127.0.0.1:0"}
feishu: {app_id: %s, delivery: %s, base_url: %q}
acs: {user_id_type: open_id, cache_ttl: 10m}
bot: {language: zh_cn}
access: {admins: [%s], chats: [%s]}
store: {path: %q}
push: {timezone: %q}
`, tn.AppID, tn.Delivery, tn.BaseURL, strings.Join(tn.Admins, ", "), strings.Join(tn.Chats, ", "), tn.StorePath, tn.Zone)
}

// New starts a test bot; it stops when the test ends.
func New(t testing.TB, o Options) *Bot {
	t.Helper()
	key := EncryptKey
	if o.Plain {
		key = ""
	}
	secret := Secret(t)
	fo := feishufake.Options{AppID: AppID, AppSecret: secret, VerificationToken: VerifyToken, EncryptKey: key}
	delivery := "webhook"
	if o.LongConnection {
		// The fake still fills the header's token, as Feishu may; the bot has no
		// token or key configured and must not need them.
		timings := wsTimings
		fo.WS, fo.WSRepushAfter, fo.EncryptKey = &timings, o.RepushAfter, ""
		if fo.WSRepushAfter <= 0 {
			fo.WSRepushAfter = 2 * time.Second
		}
		delivery = "websocket"
	}
	if o.Clock != nil {
		fo.Now = o.Clock.Now
	}
	fake := feishufake.New(fo)
	t.Cleanup(fake.Close)
	users := o.Users
	if users == nil {
		users = feishufake.GenerateUsers(120, 1)
	}
	fake.SetUsers(users)
	fake.SetChat(ReaderChat, "Facility team")
	fake.SetChat(OtherChat, "Lunch")

	b := &Bot{T: t, Fake: fake, Clock: o.Clock, opts: o}
	yaml := Tenant{AppID: AppID, Delivery: delivery, BaseURL: fake.URL(), Admins: []string{AdminID}, Chats: []string{ReaderChat},
		StorePath: t.TempDir() + "/acsbot.db", Zone: "Asia/Shanghai"}.YAML()
	env := map[string]string{
		"ACSBOT_FEISHU_APP_SECRET":         secret,
		"ACSBOT_FEISHU_VERIFICATION_TOKEN": VerifyToken,
		"ACSBOT_FEISHU_ENCRYPT_KEY":        key,
	}
	if o.LongConnection {
		env = map[string]string{"ACSBOT_FEISHU_APP_SECRET": secret}
	}
	cfg, err := config.Parse([]byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	b.Config = cfg
	b.Start()
	return b
}

// Start starts the bot: New does, and a test starts it again after Stop, on the
// same store.
func (b *Bot) Start() {
	b.T.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	switch {
	case b.opts.Logs != nil:
		log = slog.New(slog.NewTextHandler(b.opts.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	case testing.Verbose():
		log = slog.New(slog.NewTextHandler(testWriter{b.T}, nil))
	}
	opts := app.Options{Logger: log, CallTimeout: b.opts.CallTimeout, JobTimeout: b.opts.JobTimeout}
	if b.Clock != nil {
		opts.Now = b.Clock.Now
	}
	a, err := app.New(context.Background(), b.Config, opts)
	if err != nil {
		b.T.Fatalf("app.New: %v", err)
	}
	b.srv = httptest.NewServer(a.Handler())
	b.app = a
	b.T.Cleanup(b.Stop)
	a.Start()
	if b.opts.LongConnection {
		b.Eventually("the long connection", func() bool {
			status, body := b.Health()
			return status == http.StatusOK && body["long_connection"] == "up"
		})
	}
}

// wsTimings keep the SDK client quick against the fake: reconnect at once, then
// once a second; ping every second.
var wsTimings = feishufake.WSClientConfig{ReconnectCount: -1, ReconnectInterval: 1, ReconnectNonce: 0, PingInterval: 1}

// Health is /healthz's status and body.
func (b *Bot) Health() (int, map[string]any) {
	b.T.Helper()
	resp, err := http.Get(b.srv.URL + "/healthz")
	if err != nil {
		b.T.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// Push pushes an event over the long connection and fails the test unless the bot
// acknowledges it with 200.
func (b *Bot) Push(ev feishufake.Envelope) feishufake.WSAck {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := b.Fake.PushEvent(ctx, ev)
	if err != nil {
		b.T.Fatalf("push %s: %v (last ack %+v)", ev.Header.EventType, err, ack)
	}
	return ack
}

// App is the running bot; nil after Stop.
func (b *Bot) App() *app.App { return b.app }

// URL is the bot's HTTP address.
func (b *Bot) URL() string { return b.srv.URL }

// Stop shuts the bot down as SIGTERM would; safe to call twice.
func (b *Bot) Stop() {
	if b.app == nil {
		return
	}
	b.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.app.Shutdown(ctx); err != nil {
		b.T.Errorf("shutdown: %v", err)
	}
	b.app = nil
}

// Restart stops the bot and starts a new one on the same store.
func (b *Bot) Restart() {
	b.Stop()
	b.Start()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Deliver posts a payload to the webhook the way Feishu does and returns the status
// and body of the bot's answer.
func (b *Bot) Deliver(payload any, opts ...feishufake.RequestOption) (int, []byte) {
	b.T.Helper()
	status, body, err := b.Fake.Deliver(context.Background(), b.srv.URL+"/webhook/event", payload, opts...)
	if err != nil {
		b.T.Fatalf("deliver: %v", err)
	}
	return status, body
}

// Say sends a chat message to the bot, @-mentioning it in a group, and returns its event.
func (b *Bot) Say(chatType, chatID, sender, text string) feishufake.Envelope {
	b.T.Helper()
	ev := b.Fake.MessageEvent(feishufake.UserMessage{
		ChatID: chatID, ChatType: chatType, SenderOpenID: sender, Text: text, MentionBot: chatType == "group",
	})
	if b.opts.LongConnection {
		b.Push(ev)
		return ev
	}
	if status, body := b.Deliver(ev); status != 200 {
		b.T.Fatalf("deliver %q: status %d: %s", text, status, body)
	}
	return ev
}

// Ask sends a command and returns the text of the bot's reply card as a person reads it.
func (b *Bot) Ask(chatType, chatID, sender, text string) string {
	b.T.Helper()
	ev := b.Say(chatType, chatID, sender, text)
	return Readable(Texts(b.T, b.ReplyTo(MessageID(b.T, ev)).Content))
}

// ReplyTo waits up to 10 s for the bot's reply to a message and returns it.
func (b *Bot) ReplyTo(messageID string) feishufake.Message {
	b.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range b.Fake.Messages() {
			if m.Kind == "reply" && m.ParentID == messageID {
				return m
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, _ = b.Fake.WaitMessages(ctx, len(b.Fake.Messages())+1)
		cancel()
	}
	b.T.Fatalf("no reply to %s within 10s; messages: %+v", messageID, b.Fake.Messages())
	return feishufake.Message{}
}

// RepliesTo counts the bot's replies to a message.
func (b *Bot) RepliesTo(messageID string) int {
	n := 0
	for _, m := range b.Fake.Messages() {
		if m.Kind == "reply" && m.ParentID == messageID {
			n++
		}
	}
	return n
}

// ClickAnswer is the bot's answer to a card click, as Feishu reads it.
type ClickAnswer struct {
	Toast struct {
		Type    string `json:"type"`
		Content string `json:"content"`
	} `json:"toast"`
	Card *struct {
		Data json.RawMessage `json:"data"`
	} `json:"card"`
}

// Click plays a click by operator on a button of msg, in chatID, as a Feishu client
// does, over the way the bot takes events: the card is locked until the answer is
// applied, and the answer's card then shows in place of msg's. It returns the answer.
func (b *Bot) Click(operator, chatID string, msg feishufake.Message, value map[string]any) ClickAnswer {
	b.T.Helper()
	action := feishufake.CardAction{OperatorOpenID: operator, MessageID: msg.ID, ChatID: chatID, Value: value}
	var res feishufake.ClickResult
	var err error
	if b.opts.LongConnection {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err = b.Fake.ClickWS(ctx, action)
	} else {
		res, err = b.Fake.Click(context.Background(), b.srv.URL+"/webhook/event", action)
	}
	if err != nil {
		b.T.Fatalf("click: %v: %s", err, res.Answer)
	}
	var a ClickAnswer
	if err := json.Unmarshal(res.Answer, &a); err != nil {
		b.T.Fatalf("click answer %s: %v", res.Answer, err)
	}
	return a
}

// Calls are the Feishu API calls the bot made, oldest first.
func (b *Bot) Calls() []feishufake.Call { return b.Fake.Calls() }

// DB opens the bot's store beside the running bot (SQLite in WAL mode takes both),
// so a test can look at what the bot recorded.
func (b *Bot) DB() *store.Store {
	b.T.Helper()
	st, err := store.Open(b.Config.Store.Path)
	if err != nil {
		b.T.Fatalf("open store: %v", err)
	}
	b.T.Cleanup(func() { _ = st.Close() })
	return st
}

// Eventually waits up to 10 s for cond to hold.
func (b *Bot) Eventually(what string, cond func() bool) {
	b.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.T.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// MessageID reads the message id out of a message event.
func MessageID(t testing.TB, ev feishufake.Envelope) string {
	t.Helper()
	raw, err := json.Marshal(ev)
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
	if err := json.Unmarshal(raw, &v); err != nil || v.Event.Message.MessageID == "" {
		t.Fatalf("no message id in %s", raw)
	}
	return v.Event.Message.MessageID
}

// Texts returns every string in a card's JSON, so tests can look for what a person
// would read without depending on the card's layout.
func Texts(t testing.TB, cardJSON string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(cardJSON), &v); err != nil {
		t.Fatalf("card is not JSON: %v: %s", err, cardJSON)
	}
	var sb strings.Builder
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
			sb.WriteString(x)
			sb.WriteByte('\n')
		case float64:
			fmt.Fprintf(&sb, "%v\n", x)
		}
	}
	walk(v)
	return sb.String()
}

// Readable is card text as a reader sees it: <br> a line break, and the entities
// that escape markdown characters decoded.
func Readable(s string) string { return html.UnescapeString(strings.ReplaceAll(s, "<br>", "\n")) }

// CallbackValues returns the value of every callback button in a card.
func CallbackValues(t testing.TB, cardJSON string) []map[string]any {
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

// Log collects the bot's log for a test that reads it while the bot's goroutines
// write; give it to Options.Logs.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Take returns what was logged since the last Take and forgets it, so a long run
// neither keeps nor rescans its whole log.
func (l *Log) Take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	l.b.Reset()
	return s
}

// Count is how many times s was logged so far.
func (l *Log) Count(s string) int { return strings.Count(l.String(), s) }
