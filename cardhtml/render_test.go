package cardhtml

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// cardWith wraps components in a minimal 2.0 card.
func cardWith(elements string) []byte {
	return []byte(`{"schema":"2.0","config":{"update_multi":true},"header":{"title":{"tag":"plain_text","content":"t"},"template":"blue"},"body":{"elements":[` + elements + `]}}`)
}

// inert fails t when the HTML could run anything: a script element, an event
// handler attribute, or a link or source that is not http(s).
func inert(t *testing.T, out string) {
	t.Helper()
	doc := parse(t, out)
	for _, n := range find(doc, func(*html.Node) bool { return true }) {
		switch n.Data {
		case "script", "iframe", "object", "embed", "img", "style", "form", "input", "meta", "link", "base":
			if n.Parent != nil && n.Data != "html" {
				t.Errorf("output holds a <%s> element: %s", n.Data, out)
			}
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("<%s> has handler %s=%q: %s", n.Data, a.Key, a.Val, out)
			}
			if a.Key == "href" || a.Key == "src" || a.Key == "action" {
				if !strings.HasPrefix(a.Val, "https://") && !strings.HasPrefix(a.Val, "http://") {
					t.Errorf("<%s %s=%q>: %s", n.Data, a.Key, a.Val, out)
				}
			}
			if a.Key == "style" && !strings.HasPrefix(a.Val, "flex:") && !strings.HasPrefix(a.Val, "--fc-page-rows:") {
				t.Errorf("<%s style=%q>: %s", n.Data, a.Val, out)
			}
		}
	}
	if strings.Contains(strings.ToLower(out), "<script") {
		t.Errorf("output contains <script: %s", out)
	}
}

func TestHostileInputIsInert(t *testing.T) {
	tests := []struct {
		name     string
		elements string
		want     string // text the reader must still see
	}{
		{"script in markdown", `{"tag":"markdown","content":"<script>alert(1)</script>"}`, "<script>alert(1)</script>"},
		{"escaped script in markdown", `{"tag":"markdown","content":"&lt;script&gt;alert(1)&lt;/script&gt;"}`, "<script>alert(1)</script>"},
		{"attribute break-out in markdown", `{"tag":"markdown","content":"\"><img src=x onerror=alert(1)>"}`, `"><img src=x onerror=alert(1)>`},
		{"javascript link", `{"tag":"markdown","content":"[click](javascript:alert(1))"}`, "click"},
		{"javascript link, odd case and spaces", `{"tag":"markdown","content":"[click]( JaVaScRiPt:alert(1))"}`, "click"},
		{"data link", `{"tag":"markdown","content":"[x](data:text/html;base64,PHNjcmlwdD4=)"}`, "x"},
		{"quote in an http link", `{"tag":"markdown","content":"[x](https://a.example/\"onmouseover=\"alert(1))"}`, "x"},
		{"a tag with javascript", `{"tag":"markdown","content":"<a href='javascript:alert(1)'>go</a>"}`, "go"},
		{"at that closes early", `{"tag":"markdown","content":"<at id=\"ou_1\"></at><script>alert(1)</script></at>"}`, "<script>alert(1)</script>"},
		{"at with a hostile id", `{"tag":"markdown","content":"<at id='\"><img src=x onerror=alert(1)>'></at>"}`, ""},
		{"font with a hostile colour", `{"tag":"markdown","content":"<font color='red\" onclick=\"alert(1)'>x</font>"}`, "x"},
		{"person with a hostile id", `{"tag":"person","user_id":"\"><script>alert(1)</script>"}`, ""},
		{"header", `{"tag":"hr"}]},"header":{"title":{"content":"<script>alert(1)</script>"},"subtitle":{"content":"<b>s</b>"},"template":"red\" onclick=\"x","text_tag_list":[{"text":{"content":"<i>t</i>"},"color":"red\" onclick=\"x"}]},"x":{"y":[`, "<script>alert(1)</script>"},
		{"button label and value", `{"tag":"button","text":{"content":"<img src=x onerror=alert(1)>"},"name":"\"><script>","behaviors":[{"type":"callback","value":{"q":"\"><script>alert(1)</script>"}}]}`, "<img src=x onerror=alert(1)>"},
		{"button link to javascript", `{"tag":"button","text":{"content":"go"},"behaviors":[{"type":"open_url","default_url":"javascript:alert(1)"}]}`, "go"},
		{"table cells", `{"tag":"table","columns":[{"name":"a","display_name":"<b>h</b>","data_type":"text"},{"name":"b","data_type":"markdown"},{"name":"c","data_type":"options"}],"rows":[{"a":"<script>x</script>","b":"[x](javascript:1)","c":[{"text":"<i>o</i>","color":"red\"><script>"}]}]}`, "<script>x</script>"},
		{"chart labels", `{"tag":"chart","chart_spec":{"type":"bar","title":{"text":"<script>t</script>"},"data":{"values":[{"x":"</text><script>x</script>","y":1}]},"xField":"x","yField":"y"}}`, "</text><script>x</script>"},
		{"unknown tag name", `{"tag":"<script>alert(1)</script>"}`, "component <script>alert(1)</script> is not rendered"},
		{"column width", `{"tag":"column_set","columns":[{"tag":"column","width":"1px;background:url(javascript:x)","elements":[]}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := render(t, cardWith(tt.elements))
			inert(t, out)
			if !strings.Contains(textOf(parse(t, out)), tt.want) {
				t.Errorf("the reader does not see %q in %s", tt.want, out)
			}
		})
	}
}

func TestMalformedCards(t *testing.T) {
	tests := []struct {
		name    string
		card    string
		wantErr bool
		notice  string // part of the notice the card must show, "" for none
	}{
		{"not JSON", `{"schema":`, true, ""},
		{"an array", `[{"tag":"hr"}]`, true, ""},
		{"a string", `"card"`, true, ""},
		{"null", `null`, true, ""},
		{"trailing data", `{} {}`, true, ""},
		{"empty object", `{}`, false, "no body.elements"},
		{"elements an object", `{"schema":"2.0","body":{"elements":{"tag":"hr"}}}`, false, "body.elements is a JSON object"},
		{"element a string", `{"schema":"2.0","body":{"elements":["hr"]}}`, false, "a component is a JSON string"},
		{"element without tag", `{"schema":"2.0","body":{"elements":[{"content":"x"}]}}`, false, "has no tag"},
		{"tag a number", `{"schema":"2.0","body":{"elements":[{"tag":7}]}}`, false, "has no tag"},
		{"unknown component", `{"schema":"2.0","body":{"elements":[{"tag":"collapsible_panel"}]}}`, false, "component collapsible_panel is not rendered by this console"},
		{"schema 1.0", `{"body":{"elements":[]}}`, false, "this console renders card JSON 2.0"},
		{"not shared", `{"schema":"2.0","config":{"update_multi":false},"body":{"elements":[]}}`, false, "update_multi is false"},
		{"header a string", `{"schema":"2.0","header":"t","body":{"elements":[]}}`, false, "header is not an object"},
		{"wrong types everywhere", `{"schema":"2.0","header":{"title":5,"template":[],"text_tag_list":"x","subtitle":{}},"body":{"elements":[
			{"tag":"markdown","content":{"a":1}},{"tag":"table","columns":"x","rows":{"a":1}},{"tag":"table","columns":[1,{"name":3}],"rows":[1,"x",{"a":[]}]},
			{"tag":"column_set","columns":[{"tag":"column","elements":"x"},5]},{"tag":"person_list","persons":[1,{"id":[]}]},
			{"tag":"button","behaviors":[1,{"type":"callback"}],"text":3},{"tag":"chart","chart_spec":"x"},
			{"tag":"chart","chart_spec":{"type":"line","data":5}}]}}`, false, "table rows are a JSON object"},
		{"deep nesting", `{"schema":"2.0","body":{"elements":[` + strings.Repeat(`{"tag":"column_set","columns":[{"tag":"column","elements":[`, 40) + strings.Repeat(`]}]}`, 40) + `]}}`, false, "nest too deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Render([]byte(tt.card), testOpts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if out != "" {
					t.Errorf("output with an error: %s", out)
				}
				return
			}
			inert(t, string(out))
			notices := find(parse(t, string(out)), byClass("fc-notice"))
			var all []string
			for _, n := range notices {
				all = append(all, textOf(n))
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.notice) {
				t.Errorf("notices %q, want one with %q", all, tt.notice)
			}
		})
	}
}
