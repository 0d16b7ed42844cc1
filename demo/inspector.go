package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"acsbot/feishufake"
)

// logEntry is one thing the inspector shows: an event or callback the console sent
// the bot, a frame of the long connection (a push or its ack), or a Feishu API call
// the bot made.
type logEntry struct {
	ID       string    `json:"id"`
	At       time.Time `json:"-"`
	AtMS     int64     `json:"at"`
	Kind     string    `json:"kind"` // "event" | "callback" | "frame" | "api"
	Title    string    `json:"title"`
	Path     string    `json:"path"`
	Status   int       `json:"status"`
	Code     int       `json:"code,omitempty"` // a Feishu API answer's code
	Request  string    `json:"request,omitempty"`
	Wire     string    `json:"wire,omitempty"`
	Response string    `json:"response,omitempty"`
}

// inspectorList is how many entries the list shows, newest last.
const inspectorList = 200

func (c *console) record(e logEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	e.ID = fmt.Sprintf("c%d", c.seq)
	e.At = time.Now()
	c.entries = append(c.entries, e)
	if len(c.entries) > maxLogEntries {
		c.entries = slices.Delete(c.entries, 0, len(c.entries)-maxLogEntries)
	}
}

// all is the console's entries and the platform's API calls, oldest first.
func (c *console) all() []logEntry {
	c.mu.Lock()
	out := slices.Clone(c.entries)
	c.mu.Unlock()
	for _, call := range c.fake.Calls() {
		title := call.Method + " " + call.Path
		if call.Query != "" {
			title += "?" + call.Query
		}
		out = append(out, logEntry{
			ID: fmt.Sprintf("a%d-%s", call.At.UnixNano(), shortHash(call.Method+call.Path+call.Query)), At: call.At,
			Kind: "api", Title: title, Path: call.Path, Status: call.Status, Code: call.Code,
			Request: call.ReqBody, Response: call.RespBody,
		})
	}
	for _, f := range c.fake.WSFrames() {
		if f.Type != "event" { // pings and pongs: the connection keeping alive
			continue
		}
		e := logEntry{
			ID: fmt.Sprintf("f%d-%s-%s", f.At.UnixNano(), f.Dir, shortHash(f.MessageID)), At: f.At,
			Kind: "frame", Path: wsPath, Status: f.Code,
		}
		if f.Dir == "down" {
			e.Title = fmt.Sprintf("push %s (connection %d, frame %.8s…)", f.EventType, f.Conn, f.MessageID)
			e.Request = f.Payload
		} else {
			e.Title = fmt.Sprintf("ack %d (connection %d, frame %.8s…)", f.Code, f.Conn, f.MessageID)
			e.Response = f.Payload
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b logEntry) int { return a.At.Compare(b.At) })
	for i := range out {
		out[i].AtMS = out[i].At.UnixMilli()
	}
	return out
}

func shortHash(s string) string { return version(s)[:6] }

// inspector lists the newest entries without their bodies; the page asks for one
// entry's bodies when it is opened.
func (c *console) inspector(w http.ResponseWriter, _ *http.Request) {
	all := c.all()
	if len(all) > inspectorList {
		all = all[len(all)-inspectorList:]
	}
	for i := range all {
		all[i].Request, all[i].Wire, all[i].Response = "", "", ""
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": all})
}

func (c *console) inspectorEntry(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, e := range c.all() {
		if e.ID == id {
			e.Request, e.Response = pretty(e.Request), pretty(e.Response)
			writeJSON(w, http.StatusOK, e)
			return
		}
	}
	writeError(w, http.StatusNotFound, "no such entry (the inspector keeps the latest ones only)")
}

// pretty indents JSON for reading; anything else is shown as it is.
func pretty(s string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String()
}

// hidden stands in for a secret in what the inspector shows.
const hidden = "(hidden)"

// redactEnvelope is an event as the inspector shows it: its verification token and
// a callback's card update token hidden, since both are credentials.
func redactEnvelope(ev feishufake.Envelope) string {
	ev.Header.Token = hidden
	if body, ok := ev.Event.(map[string]any); ok {
		if _, has := body["token"]; has {
			body = maps.Clone(body) // redacting must not change the event being sent
			body["token"] = hidden
			ev.Event = body
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// wireView is what went over the wire: the signature headers and the encrypted body.
func wireView(h http.Header, body []byte) string {
	var b strings.Builder
	for _, k := range []string{"Content-Type", "X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "X-Lark-Signature"} {
		if v := h.Get(k); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.Write(body)
	return b.String()
}
