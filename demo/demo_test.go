package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"acsbot/config"
)

func TestMain(m *testing.M) {
	// The feishu package's process-wide token store keeps one janitor goroutine for
	// the life of the process, started by the first test.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run"),
		// Every larkws.NewClient starts a cache janitor that nothing stops in v3.12.0.
		goleak.IgnoreTopFunction("github.com/larksuite/oapi-sdk-go/v3/cache.(*cron).start"))
}

// startDemo runs a demo in the default mode (the long connection) on a free port
// for one test.
func startDemo(t *testing.T) *Demo { return startDemoWith(t, nil) }

// startWebhookDemo runs a demo whose config says delivery: webhook.
func startWebhookDemo(t *testing.T) *Demo {
	base := config.Default()
	base.Feishu.Delivery = config.DeliveryWebhook
	base.Store.Path = filepath.Join(t.TempDir(), "demo.db")
	return startDemoWith(t, &base)
}

func startDemoWith(t *testing.T, base *config.Config) *Demo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Start(ctx, Options{Addr: "127.0.0.1:0", Base: base, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return d
}

// call sends a console API request and decodes the JSON answer into out.
func call(t *testing.T, d *Demo, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.url+"/console/api/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode
}

type timelineAnswer struct {
	Items []timelineItem `json:"items"`
}

// botCards waits until the chat shows n messages from the bot and returns them.
func botCards(t *testing.T, d *Demo, persona, chat string, n int) []timelineItem {
	t.Helper()
	var bot []timelineItem
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		var tl timelineAnswer
		call(t, d, "GET", "timeline?persona="+persona+"&chat="+chat, nil, &tl)
		bot = bot[:0]
		for _, it := range tl.Items {
			if it.From == "bot" {
				bot = append(bot, it)
			}
		}
		if len(bot) >= n {
			return bot
		}
	}
	t.Fatalf("%s in %s: %d bot messages, want %d", persona, chat, len(bot), n)
	return nil
}

func say(t *testing.T, d *Demo, persona, chat, text string) {
	t.Helper()
	var ans map[string]any
	if code := call(t, d, "POST", "say", sayRequest{Persona: persona, Chat: chat, Text: text}, &ans); code != 200 || ans["status"] != float64(200) {
		t.Fatalf("say %q: HTTP %d %v", text, code, ans)
	}
}

var (
	noFaceTitle = regexp.MustCompile(`(\d+) people without a face photo`)
	callbackRe  = regexp.MustCompile(`data-callback="([^"]*)"`)
)

func noFaceCount(t *testing.T, html string) int {
	t.Helper()
	m := noFaceTitle.FindStringSubmatch(string(html))
	if m == nil {
		t.Fatalf("not a no-face list: %.300s", html)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// The console drives the real bot end to end: a question gets the list card, Next
// pages it in place, a face photo toggled in the directory changes the next answer.
func TestConsoleAsksPagesAndEditsTheDirectory(t *testing.T) {
	d := startDemo(t)
	want := 0
	for _, u := range newPeople().users {
		if !u.FaceUploaded {
			want++
		}
	}
	say(t, d, "admin", "dm", "who has no face photo")
	first := botCards(t, d, "admin", "dm", 1)[0]
	if got := noFaceCount(t, string(first.HTML)); got != want {
		t.Fatalf("card says %d without a face photo, the directory has %d", got, want)
	}
	if !strings.Contains(string(first.HTML), "Page 1 /") {
		t.Errorf("first answer is not page 1: %.300s", first.HTML)
	}

	next := callbackRe.FindAllStringSubmatch(string(first.HTML), -1)
	if len(next) == 0 {
		t.Fatal("the list card has no callback button")
	}
	value := strings.ReplaceAll(next[len(next)-1][1], "&#34;", `"`)
	var click map[string]any
	if code := call(t, d, "POST", "click", clickRequest{Persona: "admin", Chat: "dm", MessageID: first.ID, Value: json.RawMessage(value)}, &click); code != 200 || click["updated"] != true {
		t.Fatalf("click Next: HTTP %d %v", code, click)
	}
	paged := botCards(t, d, "admin", "dm", 1)[0]
	if paged.ID != first.ID || paged.Version == first.Version || !strings.Contains(string(paged.HTML), "Page 2 /") {
		t.Fatalf("after Next the card is not page 2 in place: %.300s", paged.HTML)
	}

	var dir struct {
		NoFace int            `json:"no_face"`
		Rows   []directoryRow `json:"rows"`
	}
	call(t, d, "GET", "directory?filter=noface", nil, &dir)
	if dir.NoFace != want || len(dir.Rows) == 0 || dir.Rows[0].Face {
		t.Fatalf("directory: %d without a face, first row %+v", dir.NoFace, dir.Rows)
	}
	var toggled struct {
		Status int          `json:"status"`
		Person directoryRow `json:"person"`
	}
	if code := call(t, d, "POST", "directory/"+dir.Rows[0].ID+"/face", struct{}{}, &toggled); code != 200 || toggled.Status != 200 || !toggled.Person.Face {
		t.Fatalf("toggle face: HTTP %d %+v", code, toggled)
	}
	say(t, d, "admin", "dm", "who has no face photo")
	again := botCards(t, d, "admin", "dm", 2)[1]
	if got := noFaceCount(t, string(again.HTML)); got != want-1 {
		t.Errorf("after a face photo was added the card says %d, want %d", got, want-1)
	}
}

// Who you are matters as it does in Feishu: the outsider is refused and cannot post
// in a group they are not in; a group message reaches the bot as an @-mention.
func TestConsolePersonasAndChats(t *testing.T) {
	d := startDemo(t)
	cases := []struct {
		persona, chat, text string
		status              int
		want                string // in the bot's answer; "" when nothing is sent
	}{
		{"outsider", "dm", "who has no face photo", 200, "Not available here"},
		{"outsider", "facility", "/stats", 400, ""},
		{"reader", "facility", "/stats", 200, "门禁概况"},
		{"reader", "lunch", "/stats", 200, "无法在这里使用"},
		{"admin", "lunch", "/user @Li Ming", 200, "Li Ming"},
		{"nobody", "dm", "hi", 400, ""},
		{"admin", "nowhere", "hi", 400, ""},
		{"admin", "dm", "", 400, ""},
		{"admin", "dm", strings.Repeat("x", maxTextRunes+1), 400, ""},
	}
	for _, c := range cases {
		t.Run(c.persona+" in "+c.chat+": "+c.text[:min(len(c.text), 20)], func(t *testing.T) {
			var ans map[string]any
			before := 0
			if c.status == 200 {
				before = len(botCards(t, d, c.persona, c.chat, 0))
			}
			if code := call(t, d, "POST", "say", sayRequest{Persona: c.persona, Chat: c.chat, Text: c.text}, &ans); code != c.status {
				t.Fatalf("HTTP %d, want %d: %v", code, c.status, ans)
			}
			if c.want == "" {
				if ans["error"] == "" || ans["error"] == nil {
					t.Errorf("a refused message has no error: %v", ans)
				}
				return
			}
			got := botCards(t, d, c.persona, c.chat, before+1)[before]
			if !strings.Contains(strings.ToLower(string(got.HTML)), strings.ToLower(c.want)) {
				t.Errorf("answer lacks %q: %.400s", c.want, got.HTML)
			}
		})
	}
}

// "Run daily summary now" goes through the real scheduler: nothing before a chat
// is subscribed, then one summary for the subscribed chat, and once a day only.
func TestConsoleRunsTheDailySummary(t *testing.T) {
	d := startDemo(t)
	var ans struct {
		Sent int    `json:"sent"`
		Note string `json:"note"`
	}
	if call(t, d, "POST", "summary", struct{}{}, &ans); ans.Sent != 0 || !strings.Contains(ans.Note, "/subscribe") {
		t.Fatalf("with no subscription: %+v", ans)
	}
	say(t, d, "admin", "facility", "/subscribe 23:59")
	botCards(t, d, "admin", "facility", 1)
	if call(t, d, "POST", "summary", struct{}{}, &ans); ans.Sent != 1 {
		t.Fatalf("after /subscribe: %+v", ans)
	}
	cards := botCards(t, d, "reader", "facility", 2)
	if !strings.Contains(string(cards[1].HTML), "门禁日报") || !strings.Contains(string(cards[1].HTML), `class="fc-chart"`) {
		t.Errorf("the second card is not the summary with its 30-day chart: %.400s", cards[1].HTML)
	}
	if call(t, d, "POST", "summary", struct{}{}, &ans); ans.Sent != 0 {
		t.Errorf("a second run the same day sent %d", ans.Sent)
	}
}

// The inspector shows events, callbacks and API calls, but never a secret: by
// default each frame pushed over the long connection and each ack, with the
// webhook the signed, encrypted delivery.
func TestInspectorShowsTrafficWithoutSecrets(t *testing.T) {
	t.Run("long connection", func(t *testing.T) { checkInspector(t, startDemo(t), true) })
	t.Run("webhook", func(t *testing.T) { checkInspector(t, startWebhookDemo(t), false) })
}

func checkInspector(t *testing.T, d *Demo, ws bool) {
	say(t, d, "admin", "dm", "/stats")
	card := botCards(t, d, "admin", "dm", 1)[0]
	if ws { // a click goes over the long connection too
		var click map[string]any
		if code := call(t, d, "POST", "click", clickRequest{Persona: "admin", Chat: "dm", MessageID: card.ID, Value: json.RawMessage(`{"a":"nothing"}`)}, &click); code != 200 {
			t.Fatalf("click: HTTP %d %v", code, click)
		}
	}
	var list struct {
		Entries []logEntry `json:"entries"`
	}
	call(t, d, "GET", "inspector", nil, &list)
	kinds := map[string]int{}
	o := d.fake.Options()
	for _, e := range list.Entries {
		kinds[e.Kind]++
		var full logEntry
		if code := call(t, d, "GET", "inspector/"+e.ID, nil, &full); code != 200 {
			t.Fatalf("entry %s: HTTP %d", e.ID, code)
		}
		text := fmt.Sprint(full)
		for _, secret := range []string{o.AppSecret, o.VerificationToken, o.EncryptKey} {
			if secret != "" && strings.Contains(text, secret) {
				t.Fatalf("entry %s (%s) shows a secret", e.ID, e.Title)
			}
		}
		if !ws && e.Kind == "event" && (!strings.Contains(full.Wire, `"encrypt"`) || !strings.Contains(full.Wire, "X-Lark-Signature")) {
			t.Errorf("event entry does not show the signed, encrypted delivery: %s", full.Wire)
		}
		if e.Kind == "frame" && (e.Path != wsPath || !strings.HasPrefix(e.Title, "push ") && !strings.HasPrefix(e.Title, "ack 200 ")) {
			t.Errorf("frame entry %+v", e)
		}
	}
	if kinds["event"] == 0 || kinds["api"] < 3 { // token, bot info, ACS pages, reply
		t.Errorf("inspector kinds %v, want the event and the bot's API calls", kinds)
	}
	if ws != (kinds["frame"] >= 4) { // the event and the click, each pushed and acked
		t.Errorf("inspector kinds %v: frames shown %v, want %v", kinds, kinds["frame"] > 0, ws)
	}
	if code := call(t, d, "GET", "inspector/nope", nil, nil); code != 404 {
		t.Errorf("unknown entry: HTTP %d", code)
	}
}
