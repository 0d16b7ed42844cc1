package cardhtml

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.html from the cards package's golden cards")

// cardsDir holds the bot's real cards, pinned by the cards package's own
// golden test.
var cardsDir = filepath.Join("..", "cards", "testdata", "golden")

// names is the fixed directory of the golden files: open ids ending in a digit
// or letter get a name from this list, except every seventh, which stays
// unknown so the shortened id shows too.
var names = []string{"张伟", "Alice Wong", "王芳", "Bob Li", "李娜", "Carol Chen", "刘洋"}

func testPerson(id string) string {
	if id == "" {
		return ""
	}
	n := int(id[len(id)-1])
	if n%7 == 0 {
		return ""
	}
	return names[n%len(names)]
}

var testOpts = Options{Person: testPerson}

// realCards lists the bot's golden cards.
func realCards(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(cardsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no cards in %s", cardsDir)
	}
	return files
}

func render(t testing.TB, card []byte) string {
	t.Helper()
	got, err := Render(card, testOpts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return string(got)
}

func renderFile(t testing.TB, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return render(t, raw)
}

// TestGolden renders every card the bot sends and compares the HTML byte for
// byte. Run with -update after an intended change, and read the diff.
func TestGolden(t *testing.T) {
	for _, src := range realCards(t) {
		name := strings.TrimSuffix(filepath.Base(src), ".json")
		t.Run(name, func(t *testing.T) {
			got := renderFile(t, src)
			path := filepath.Join("testdata", "golden", name+".html")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cardhtml -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file; got:\n%s", path, got)
			}
			if strings.Contains(got, `class="fc-notice"`) {
				t.Errorf("a real card renders a notice: %s", got)
			}
		})
	}
}

// TestGoldenFilesAreAllUsed keeps testdata/golden free of HTML for cards the
// bot no longer sends.
func TestGoldenFilesAreAllUsed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.html"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, src := range realCards(t) {
		want = append(want, strings.TrimSuffix(filepath.Base(src), ".json"))
	}
	for _, f := range files {
		if !slices.Contains(want, strings.TrimSuffix(filepath.Base(f), ".html")) {
			t.Errorf("%s renders no card of %s; delete it", f, cardsDir)
		}
	}
}

// node helpers: the structure tests read the HTML as a browser would.

func parse(t testing.TB, fragment string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(fragment))
	if err != nil {
		t.Fatalf("output is not HTML: %v", err)
	}
	return doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	return slices.Contains(strings.Fields(v), class)
}

// find returns every element under n for which keep is true, in document order.
func find(n *html.Node, keep func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && keep(d) {
			out = append(out, d)
		}
	}
	return out
}

func byClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool { return hasClass(n, class) }
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// decode reads JSON with numbers kept as written, so values compare exactly.
func decode(t testing.TB, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// jsonComponents returns every component of a card with the given tag.
func jsonComponents(v any, tag string) []map[string]any {
	var out []map[string]any
	switch x := v.(type) {
	case map[string]any:
		if x["tag"] == tag {
			out = append(out, x)
		}
		for _, e := range x {
			out = append(out, jsonComponents(e, tag)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, jsonComponents(e, tag)...)
		}
	}
	return out
}

// TestRealCardStructure checks, for every real card, that what the JSON holds
// is in the HTML: each table row, each person, each button with its callback
// value, each chart point, the header title.
func TestRealCardStructure(t *testing.T) {
	for _, src := range realCards(t) {
		t.Run(filepath.Base(src), func(t *testing.T) {
			raw, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			card := decode(t, raw)
			doc := parse(t, render(t, raw))

			title := card.(map[string]any)["header"].(map[string]any)["title"].(map[string]any)["content"].(string)
			if got := find(doc, byClass("fc-title")); len(got) != 1 || !strings.HasPrefix(textOf(got[0]), title) {
				t.Errorf("title: want %q in one fc-title, got %d", title, len(got))
			}

			wantRows, wantPeople := 0, 0
			for _, tbl := range jsonComponents(card, "table") {
				rows := tbl["rows"].([]any)
				wantRows += len(rows)
				for _, col := range tbl["columns"].([]any) {
					if col.(map[string]any)["data_type"] == "persons" {
						wantPeople += len(rows)
					}
				}
			}
			for _, pl := range jsonComponents(card, "person_list") {
				wantPeople += len(pl["persons"].([]any))
			}
			wantPeople += len(jsonComponents(card, "person"))
			if got := len(find(doc, byClass("fc-row"))); got != wantRows {
				t.Errorf("%d table rows, want %d", got, wantRows)
			}
			if got := len(find(doc, byClass("fc-person"))); got != wantPeople {
				t.Errorf("%d people, want %d", got, wantPeople)
			}

			var wantValues []any
			for _, b := range jsonComponents(card, "button") {
				for _, be := range b["behaviors"].([]any) {
					wantValues = append(wantValues, be.(map[string]any)["value"])
				}
			}
			buttons := find(doc, byTag("button"))
			if len(buttons) != len(wantValues) {
				t.Fatalf("%d buttons, want %d", len(buttons), len(wantValues))
			}
			for i, b := range buttons {
				v, ok := attr(b, "data-callback")
				if !ok {
					t.Fatalf("button %d has no data-callback", i)
				}
				if got := decode(t, []byte(v)); !reflect.DeepEqual(got, wantValues[i]) {
					t.Errorf("button %d callback %v, want %v", i, got, wantValues[i])
				}
				if typ, _ := attr(b, "type"); typ != "button" {
					t.Errorf("button %d type %q, want button (a submit would reload the console)", i, typ)
				}
			}

			charts := jsonComponents(card, "chart")
			svgs := find(doc, byTag("svg"))
			if len(svgs) != len(charts) {
				t.Fatalf("%d svg, want %d charts", len(svgs), len(charts))
			}
			for i, c := range charts {
				values := c["chart_spec"].(map[string]any)["data"].([]any)[0].(map[string]any)["values"].([]any)
				if got := len(find(svgs[i], byTag("circle"))); got != len(values) {
					t.Errorf("chart %d has %d points, want %d", i, got, len(values))
				}
			}
		})
	}
}

// TestRealCardText spot-checks what a reader sees in a few real cards.
func TestRealCardText(t *testing.T) {
	tests := []struct {
		card  string
		class string
		want  []string
	}{
		{"stats_en_us", "fc-md", []string{"1,234", "1,100 (89.1%)", "134", "57"}},
		{"list_noface_middle_en_us", "fc-button", []string{"‹ Previous", "Next ›"}},
		{"list_noface_first_en_us", "fc-person-name", []string{"Alice Wong", "王芳", "ou_000…0008"}},
		{"person_not_found_hostile_en_us", "fc-md", []string{"“<at id=all></at> **bold** [click](https://evil.example) <person id='ou_x'></person>"}},
		{"help_en_us", "fc-md", []string{"/user <@someone|id>"}},
	}
	for _, tt := range tests {
		t.Run(tt.card, func(t *testing.T) {
			doc := parse(t, renderFile(t, filepath.Join(cardsDir, tt.card+".json")))
			var texts []string
			for _, n := range find(doc, byClass(tt.class)) {
				texts = append(texts, textOf(n))
			}
			all := strings.Join(texts, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("no %q in .%s:\n%s", w, tt.class, all)
				}
			}
		})
	}
}

// TestCSSCoversClasses keeps the stylesheet and the renderer in step: every
// class the real cards produce has a rule.
func TestCSSCoversClasses(t *testing.T) {
	css := string(CSS())
	seen := map[string]bool{}
	for _, src := range realCards(t) {
		for _, n := range find(parse(t, renderFile(t, src)), func(*html.Node) bool { return true }) {
			v, _ := attr(n, "class")
			for _, c := range strings.Fields(v) {
				seen[c] = true
			}
		}
	}
	for c := range seen {
		if !strings.Contains(css, "."+c+" ") && !strings.Contains(css, "."+c+",") && !strings.Contains(css, "."+c+".") && !strings.Contains(css, "."+c+":") {
			t.Errorf("class %s has no rule in cards.css", c)
		}
	}
	if len(seen) < 20 {
		t.Errorf("only %d classes seen; the walk is broken", len(seen))
	}
}

func TestCSSIsACopy(t *testing.T) {
	a := CSS()
	a[0] = 'X'
	if b := CSS(); b[0] == 'X' {
		t.Fatal("CSS returned the embedded bytes themselves")
	}
}
