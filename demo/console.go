package demo

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"acsbot/app"
	"acsbot/cardhtml"
	"acsbot/feishufake"
)

//go:embed static
var static embed.FS

// A chat is somewhere the console lets a persona talk to the bot.
type chat struct {
	Key     string   `json:"key"`
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`              // "p2p" | "group"
	Members []string `json:"members,omitempty"` // persona keys; empty: everyone
	id      string   // the group's chat id; a direct chat's depends on the persona
}

var chats = []chat{
	{Key: "dm", Name: "Direct chat with ACS Bot", Kind: "p2p"},
	{Key: "facility", Name: "Facility team", Kind: "group", Members: []string{"admin", "reader"}, id: facilityChat},
	{Key: "lunch", Name: "Lunch", Kind: "group", id: lunchChat},
}

// Bounds on what the console keeps and accepts.
const (
	maxLogEntries = 500
	maxSaid       = 500     // what personas typed, per chat: a long session stays small
	maxTextRunes  = 10000   // longer text is refused before it reaches the bot
	maxAPIBody    = 1 << 16 // a console request: a message, a click
	directoryPage = 50
	deliverWait   = 10 * time.Second
)

// console serves the page and the API its script calls.
type console struct {
	base   string // the bot's own URL: webhook events are posted to base + "/webhook/..."
	ws     bool   // events and clicks go over the long connection, not the webhook
	fake   *feishufake.Server
	app    *app.App
	people *people
	log    *slog.Logger

	mu       sync.Mutex
	said     map[string][]userMessage // chat id -> what personas typed there
	entries  []logEntry               // the inspector's events and callbacks, oldest first
	seq      int
	rendered map[string]renderedCard // message id -> its last rendering
}

// userMessage is a message a persona typed in the console.
type userMessage struct {
	ID      string
	Persona persona
	Text    string
	At      time.Time
}

type renderedCard struct {
	content string
	html    template.HTML
}

func newConsole(base string, ws bool, fake *feishufake.Server, a *app.App, ppl *people, log *slog.Logger) *console {
	return &console{base: base, ws: ws, fake: fake, app: a, people: ppl, log: log,
		said: map[string][]userMessage{}, rendered: map[string]renderedCard{}}
}

func (c *console) routes(mux *http.ServeMux) {
	files, _ := fs.Sub(static, "static") // the embedded tree always has the directory
	mux.Handle("GET /{$}", http.FileServerFS(files))
	mux.Handle("GET /console/", http.StripPrefix("/console/", http.FileServerFS(files)))
	mux.HandleFunc("GET /console/cards.css", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		_, _ = w.Write(cardhtml.CSS())
	})
	mux.HandleFunc("GET /console/api/setup", c.setup)
	mux.HandleFunc("POST /console/api/say", c.say)
	mux.HandleFunc("POST /console/api/click", c.click)
	mux.HandleFunc("GET /console/api/timeline", c.timeline)
	mux.HandleFunc("GET /console/api/inspector", c.inspector)
	mux.HandleFunc("GET /console/api/inspector/{id}", c.inspectorEntry)
	mux.HandleFunc("GET /console/api/directory", c.directory)
	mux.HandleFunc("POST /console/api/directory/{id}/{field}", c.toggle)
	mux.HandleFunc("POST /console/api/summary", c.summary)
}

func (c *console) setup(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"bot_name": c.fake.Options().BotName,
		"personas": personas,
		"chats":    chats,
	})
}

// where resolves a persona and a chat from the console's keys, checking that the
// persona is in the chat.
func (c *console) where(personaKey, chatKey string) (persona, chat, string, error) {
	p, ok := personaByKey(personaKey)
	if !ok {
		return persona{}, chat{}, "", fmt.Errorf("unknown persona %q", personaKey)
	}
	for _, ch := range chats {
		if ch.Key != chatKey {
			continue
		}
		if len(ch.Members) > 0 && !slices.Contains(ch.Members, p.Key) {
			return persona{}, chat{}, "", fmt.Errorf("%s is not a member of %s", p.Name, ch.Name)
		}
		id := ch.id
		if ch.Kind == "p2p" {
			id = c.fake.P2PChatID(p.OpenID)
		}
		return p, ch, id, nil
	}
	return persona{}, chat{}, "", fmt.Errorf("unknown chat %q", chatKey)
}

type sayRequest struct {
	Persona string `json:"persona"`
	Chat    string `json:"chat"`
	Text    string `json:"text"`
}

// say sends what a persona typed to the bot as Feishu would: an im.message.receive_v1
// event, @-mentioning the bot in a group, pushed over the long connection or posted
// signed and encrypted to the webhook.
func (c *console) say(w http.ResponseWriter, r *http.Request) {
	var req sayRequest
	if !readJSON(w, r, &req) {
		return
	}
	p, ch, chatID, err := c.where(req.Persona, req.Chat)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Text == "" || len([]rune(req.Text)) > maxTextRunes {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("a message must have 1 to %d characters", maxTextRunes))
		return
	}
	text, mentions := c.people.mentions(req.Text)
	msgID := "om_" + randomSecret()
	ev := c.fake.MessageEvent(feishufake.UserMessage{
		MessageID: msgID, ChatID: chatID, ChatType: ch.Kind, SenderOpenID: p.OpenID,
		Text: text, Mentions: mentions, MentionBot: ch.Kind == "group",
	})
	c.mu.Lock()
	said := append(c.said[chatID], userMessage{ID: msgID, Persona: p, Text: req.Text, At: time.Now()})
	c.said[chatID] = said[max(0, len(said)-maxSaid):]
	c.mu.Unlock()
	status, err := c.deliver(r.Context(), "/webhook/event", ev, fmt.Sprintf("%s says %q in %s", p.Name, req.Text, ch.Name))
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": status, "message_id": msgID})
}

// deliver sends an event to the bot as Feishu does, over the long connection or
// posted to the webhook's path, and logs it for the inspector, with what went over
// the wire beside what it says. The status is the HTTP status or the ack's code.
func (c *console) deliver(ctx context.Context, path string, ev feishufake.Envelope, title string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, deliverWait)
	defer cancel()
	if c.ws {
		return c.push(ctx, ev, title)
	}
	req, err := c.fake.NewRequest(ctx, c.base+path, ev)
	if err != nil {
		return 0, fmt.Errorf("build the event: %w", err)
	}
	wire, err := io.ReadAll(req.Body)
	if err != nil {
		return 0, fmt.Errorf("build the event: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(wire))
	e := logEntry{Kind: "event", Title: title, Path: path, Request: redactEnvelope(ev), Wire: wireView(req.Header, wire)}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.Response = err.Error()
		c.record(e)
		return 0, fmt.Errorf("deliver the event to the bot: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	e.Status, e.Response = resp.StatusCode, string(answer)
	c.record(e)
	return resp.StatusCode, nil
}

// wsPath is what the inspector shows as the path of what went over the long connection.
const wsPath = "long connection"

// push pushes an event to the bot over the long connection and logs it for the
// inspector, which also lists the frames themselves.
func (c *console) push(ctx context.Context, ev feishufake.Envelope, title string) (int, error) {
	ack, err := c.fake.PushEvent(ctx, ev)
	e := logEntry{Kind: "event", Title: title, Path: wsPath, Status: ack.Code, Request: redactEnvelope(ev)}
	if err != nil {
		e.Response = err.Error()
		c.record(e)
		return 0, fmt.Errorf("push the event to the bot: %w", err)
	}
	e.Response = fmt.Sprintf(`{"code":%d}`, ack.Code)
	c.record(e)
	return ack.Code, nil
}

type clickRequest struct {
	Persona   string          `json:"persona"`
	Chat      string          `json:"chat"`
	MessageID string          `json:"message_id"`
	Value     json.RawMessage `json:"value"`
}

// click plays a button click: a card.action.trigger callback over the long
// connection or to /webhook/card, whose answer (a toast, a new card) Feishu applies
// to the message.
func (c *console) click(w http.ResponseWriter, r *http.Request) {
	var req clickRequest
	if !readJSON(w, r, &req) {
		return
	}
	p, _, chatID, err := c.where(req.Persona, req.Chat)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var value map[string]any
	if err := json.Unmarshal(req.Value, &value); err != nil {
		writeError(w, http.StatusBadRequest, "the button's value is not a JSON object")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), deliverWait)
	defer cancel()
	action := feishufake.CardAction{OperatorOpenID: p.OpenID, MessageID: req.MessageID, ChatID: chatID, Value: value}
	path := "/webhook/card"
	var res feishufake.ClickResult
	if c.ws {
		path = wsPath
		res, err = c.fake.ClickWS(ctx, action)
	} else {
		res, err = c.fake.Click(ctx, c.base+path, action)
	}
	c.record(logEntry{Kind: "callback", Title: fmt.Sprintf("%s clicks a button (%s)", p.Name, req.Value),
		Path: path, Status: res.Status, Request: redactEnvelope(res.Event), Response: string(res.Answer)})
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"toast": res.Toast, "updated": res.Updated})
}

// timelineItem is one message in a chat, as the page shows it.
type timelineItem struct {
	ID      string        `json:"id"`
	From    string        `json:"from"` // "user" | "bot"
	Name    string        `json:"name"`
	At      int64         `json:"at"` // unix ms
	Text    string        `json:"text,omitempty"`
	HTML    template.HTML `json:"html,omitempty"`
	Version string        `json:"version"` // changes when the bot updates the card
	Patches int           `json:"patches,omitempty"`
}

func (c *console) timeline(w http.ResponseWriter, r *http.Request) {
	_, _, chatID, err := c.where(r.URL.Query().Get("persona"), r.URL.Query().Get("chat"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c.mu.Lock()
	said := append([]userMessage(nil), c.said[chatID]...)
	c.mu.Unlock()
	var items []timelineItem
	for _, m := range said {
		items = append(items, timelineItem{ID: m.ID, From: "user", Name: m.Persona.Name, At: m.At.UnixMilli(), Text: m.Text, Version: "1"})
	}
	for _, m := range c.fake.Messages() {
		if m.ChatID != chatID {
			continue
		}
		items = append(items, timelineItem{ID: m.ID, From: "bot", Name: c.fake.Options().BotName, At: m.CreatedAt.UnixMilli(),
			HTML: c.render(m), Version: version(m.Content), Patches: m.Patches})
	}
	sortByTime(items)
	writeJSON(w, http.StatusOK, map[string]any{"chat_id": chatID, "items": items})
}

// render shows a bot message as the Feishu client would, remembering the result
// until the message changes.
func (c *console) render(m feishufake.Message) template.HTML {
	c.mu.Lock()
	if rc, ok := c.rendered[m.ID]; ok && rc.content == m.Content {
		c.mu.Unlock()
		return rc.html
	}
	c.mu.Unlock()
	var out template.HTML
	switch m.MsgType {
	case "interactive":
		h, err := cardhtml.Render([]byte(m.Content), cardhtml.Options{Person: c.people.Name})
		if err != nil {
			h = template.HTML(`<div class="fc-notice">` + template.HTMLEscapeString("this card cannot be shown: "+err.Error()) + `</div>`)
		}
		out = h
	case "text":
		var t struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal([]byte(m.Content), &t) // the fake accepted it as text content
		out = template.HTML(`<div class="text-message">` + template.HTMLEscapeString(t.Text) + `</div>`)
	default:
		out = template.HTML(`<div class="fc-notice">` + template.HTMLEscapeString("message type "+m.MsgType+" is not rendered by this console") + `</div>`)
	}
	c.mu.Lock()
	c.rendered[m.ID] = renderedCard{content: m.Content, html: out}
	c.mu.Unlock()
	return out
}

// sortByTime orders a chat's messages as the client shows them.
func sortByTime(items []timelineItem) {
	slices.SortStableFunc(items, func(a, b timelineItem) int { return cmp.Compare(a.At, b.At) })
}

func version(content string) string {
	h := fnv.New64a()
	h.Write([]byte(content))
	return strconv.FormatUint(h.Sum64(), 36)
}

// summary is "run daily summary now": today's summary to every subscribed chat that
// has not had it, through the real scheduler.
func (c *console) summary(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	n, err := c.app.Scheduler().RunNow(ctx)
	if err != nil {
		writeError(w, http.StatusBadGateway, "the daily summary failed: "+err.Error())
		return
	}
	note := fmt.Sprintf("Sent today's summary to %d chat(s).", n)
	if n == 0 {
		note = "No chat is waiting for today's summary: as the admin, send /subscribe in a chat first. Each chat gets one a day."
	}
	writeJSON(w, http.StatusOK, map[string]any{"sent": n, "note": note})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "request too large")
			return false
		}
		writeError(w, http.StatusBadRequest, "bad request: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
