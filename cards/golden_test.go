package cards

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/command"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the current cards")

// now is the fixed clock of every golden card.
var now = time.Date(2026, 11, 25, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

func view(lang command.Lang, full bool) View {
	return View{Lang: lang, ShowCardNumbers: full, TakenAt: now.Add(-3 * time.Minute), Now: now}
}

// makeUsers builds n users with open_id-shaped ids; every third has no card and
// every fourth has a face photo.
func makeUsers(n int) []acs.User {
	users := make([]acs.User, n)
	for i := range users {
		u := acs.User{ID: fmt.Sprintf("ou_%032x", i+1), Card: 1000000 + i*37, FaceUploaded: i%4 == 0}
		if i%3 == 0 {
			u.Card = 0
		}
		users[i] = u
	}
	return users
}

func filter(users []acs.User, keep func(acs.User) bool) []acs.User {
	var out []acs.User
	for _, u := range users {
		if keep(u) {
			out = append(out, u)
		}
	}
	return out
}

func noFace(users []acs.User) []acs.User {
	return filter(users, func(u acs.User) bool { return !u.FaceUploaded })
}

func noCard(users []acs.User) []acs.User {
	return filter(users, func(u acs.User) bool { return !u.HasCard() })
}

// testSpecs is a registry like the bot's, for the help and usage cards.
func testSpecs() []command.Spec {
	return []command.Spec{
		{Name: "help", Role: command.Anyone, Usage: "/help",
			Help:     map[command.Lang]string{command.ZH: "显示这份帮助", command.EN: "show this help"},
			Examples: map[command.Lang][]string{command.ZH: {"帮助"}, command.EN: {"help"}}},
		{Name: "noface", Role: command.Reader, Usage: "/noface",
			Help:     map[command.Lang]string{command.ZH: "谁还没有录入人脸", command.EN: "who has no face photo"},
			Examples: map[command.Lang][]string{command.ZH: {"谁没有人脸", "/noface"}, command.EN: {"who has no face photo"}}},
		{Name: "user", Role: command.Reader, Usage: "/user <@someone|id>",
			Help:     map[command.Lang]string{command.ZH: "查询一个人的人脸和门禁卡", command.EN: "look one person up"},
			Examples: map[command.Lang][]string{command.ZH: {"查询 @张三"}, command.EN: {"/user @Alice"}}},
		{Name: "card", Role: command.Admin, Usage: "/card <number>",
			Help:     map[command.Lang]string{command.EN: "who holds a card number"},
			Examples: map[command.Lang][]string{command.ZH: {"卡号 123456"}, command.EN: {"/card 123456"}}},
	}
}

// hostile is user input that tries every way into a card's markdown.
const hostile = "<at id=all></at> **bold** [click](https://evil.example) <person id='ou_x'></person>\n# title"

type goldenCase struct {
	name string
	card func(lang command.Lang) Card
}

// goldenCases is every card the bot sends, in the situations worth pinning.
func goldenCases() []goldenCase {
	dir := makeUsers(600) // 450 without a face photo: 3 pages
	nf := noFace(dir)
	nc := noCard(dir)
	few := nf[:3]
	stats := acs.Stats{Total: 1234, WithFace: 1100, NoFace: 134, NoCard: 57}
	specs := testSpecs()
	return append([]goldenCase{
		{"list_noface_first", func(l command.Lang) Card { return List(view(l, false), NoFace, nf, 1) }},
		{"list_noface_middle", func(l command.Lang) Card { return List(view(l, false), NoFace, nf, 2) }},
		{"list_nocard_last_full", func(l command.Lang) Card { return List(view(l, true), NoCard, nc, 2) }},
		{"list_noface_one_page_refreshing", func(l command.Lang) Card {
			v := view(l, true)
			v.Refreshing = true
			return List(v, NoFace, few, 1)
		}},
		{"list_nocard_one_masked_none", func(l command.Lang) Card { return List(view(l, false), NoCard, nc[:2], 1) }},
		{"list_noface_empty", func(l command.Lang) Card { return List(view(l, false), NoFace, nil, 1) }},
		{"list_nocard_empty", func(l command.Lang) Card { return List(view(l, false), NoCard, nil, 1) }},
		{"stats", func(l command.Lang) Card { return Stats(view(l, false), stats) }},
		{"stats_empty_old", func(l command.Lang) Card {
			v := view(l, false)
			v.TakenAt = now.Add(-26 * time.Hour)
			return Stats(v, acs.Stats{})
		}},
		{"refreshed", func(l command.Lang) Card { return Refreshed(view(l, false), stats, 2345*time.Millisecond) }},
		{"person_found_masked", func(l command.Lang) Card {
			return Person(view(l, false), "ou_a", acs.User{ID: "ou_a", Card: 123456, FaceUploaded: true}, true)
		}},
		{"person_found_noface_nocard", func(l command.Lang) Card {
			return Person(view(l, true), "ou_b", acs.User{ID: "ou_b"}, true)
		}},
		{"person_not_found_hostile", func(l command.Lang) Card { return Person(view(l, false), hostile, acs.User{}, false) }},
		{"cardlookup_none", func(l command.Lang) Card { return CardLookup(view(l, true), 424242, nil) }},
		{"cardlookup_one_masked", func(l command.Lang) Card {
			return CardLookup(view(l, false), 123456, []acs.User{{ID: "ou_a", Card: 123456, FaceUploaded: true}})
		}},
		{"cardlookup_many", func(l command.Lang) Card {
			return CardLookup(view(l, true), 123456, []acs.User{{ID: "ou_a", Card: 123456}, {ID: "ou_b", Card: 123456, FaceUploaded: true}})
		}},
		{"help", func(l command.Lang) Card { return Help(l, specs, "") }},
		{"help_suggest", func(l command.Lang) Card { return Help(l, specs[:2], "noface") }},
		{"refused", func(l command.Lang) Card { return Refused(l) }},
		{"usage_bad_hostile", func(l command.Lang) Card { return Usage(l, specs[3], hostile) }},
		{"usage_missing", func(l command.Lang) Card { return Usage(l, specs[3], "") }},
		{"error_code", func(l command.Lang) Card { return Error(l, 1490018, "page token is invalid") }},
		{"error_no_code", func(l command.Lang) Card { return Error(l, 0, "timeout or network error") }},
	}, append(pushCases(), usageCases()...)...)
}

var langs = []command.Lang{command.ZH, command.EN}

// TestGolden pins every card, in both languages, byte for byte after indenting.
// Run with -update to rewrite the files after an intended change, and read the diff.
func TestGolden(t *testing.T) {
	for _, gc := range goldenCases() {
		for _, lang := range langs {
			name := gc.name + "_" + string(lang)
			t.Run(name, func(t *testing.T) {
				raw, err := gc.card(lang).JSON()
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				if err := json.Indent(&got, raw, "", "  "); err != nil {
					t.Fatalf("card is not JSON: %v", err)
				}
				got.WriteByte('\n')
				path := filepath.Join("testdata", "golden", name+".json")
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./cards -update to create it)", err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s differs from the golden file; got:\n%s", path, got.String())
				}
			})
		}
	}
}

// TestGoldenFilesAreAllUsed keeps testdata/golden free of cards nobody builds.
func TestGoldenFilesAreAllUsed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, gc := range goldenCases() {
		for _, lang := range langs {
			want = append(want, filepath.Join("testdata", "golden", gc.name+"_"+string(lang)+".json"))
		}
	}
	for _, f := range files {
		if !slices.Contains(want, f) {
			t.Errorf("%s is not built by any golden case; delete it", f)
		}
	}
}

// TestCardsAreValid2 checks every golden card against what card JSON 2.0 accepts.
func TestCardsAreValid2(t *testing.T) {
	for _, gc := range goldenCases() {
		for _, lang := range langs {
			t.Run(gc.name+"_"+string(lang), func(t *testing.T) {
				checkCard(t, gc.card(lang))
			})
		}
	}
}

// TestCardsAreInTheirLanguage catches a string table that mixes the languages:
// an English card has no Chinese in it.
func TestCardsAreInTheirLanguage(t *testing.T) {
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			raw, err := gc.card(command.EN).JSON()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range string(raw) {
				if r >= 0x4e00 && r <= 0x9fff {
					t.Fatalf("English card contains %q: %s", r, raw)
				}
			}
			zh, err := gc.card(command.ZH).JSON()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(raw, zh) {
				t.Fatal("the Chinese and English cards are the same")
			}
		})
	}
}

func TestUnknownLanguageIsChinese(t *testing.T) {
	got, err := Refused("fr_fr").JSON()
	if err != nil {
		t.Fatal(err)
	}
	want, err := Refused(command.ZH).JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Refused(fr_fr) = %s, want the Chinese card", got)
	}
}

// The rules of card JSON 2.0 the checks below enforce.
var (
	// allowedKeys are the documented attributes of each tag we emit; 2.0
	// rejects any other.
	allowedKeys = map[string][]string{
		"markdown":    {"tag", "content", "text_align", "text_size"},
		"hr":          {"tag"},
		"person":      {"tag", "user_id", "size", "show_avatar", "show_name"},
		"person_list": {"tag", "persons", "size", "show_avatar", "show_name", "drop_invalid_user_id"},
		"table":       {"tag", "page_size", "columns", "rows"},
		"button":      {"tag", "text", "type", "size", "confirm", "behaviors"},
		"column_set":  {"tag", "flex_mode", "columns"},
		"column":      {"tag", "width", "weight", "elements"},
		"chart":       {"tag", "aspect_ratio", "chart_spec"},
		"plain_text":  {"tag", "content"},
		"text_tag":    {"tag", "text", "color"},
	}
	// notComponents are tagged objects that are parts of a component.
	notComponents = []string{"plain_text", "text_tag"}
	templates     = []string{"blue", "wathet", "turquoise", "green", "yellow", "orange", "red", "carmine", "violet", "purple", "indigo", "grey", "default"}
	tagColors     = []string{"neutral", "blue", "turquoise", "lime", "orange", "violet", "indigo", "wathet", "green", "yellow", "red", "purple", "carmine"}
	buttonTypes   = []string{"default", "primary", "danger", "text", "primary_text", "danger_text", "primary_filled", "danger_filled", "laser"}
	dataTypes     = []string{"text", "lark_md", "options", "number", "persons", "date", "markdown"}
)

const (
	maxCardBytes      = 30 * 1024
	maxCardComponents = 200
)

// checkCard fails t unless c is a card Feishu accepts: schema 2.0, shared, a
// title and summary, only documented attributes, no empty optional field, and
// inside the size and component limits.
func checkCard(t *testing.T, c Card) {
	t.Helper()
	raw, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("%!")) {
		t.Errorf("card has a fmt error (%%!): %s", raw)
	}
	if len(raw) >= maxCardBytes {
		t.Errorf("card is %d bytes, limit %d", len(raw), maxCardBytes)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schema"] != "2.0" {
		t.Errorf("schema = %v, want 2.0", doc["schema"])
	}
	cfg, _ := doc["config"].(map[string]any)
	if cfg["update_multi"] != true {
		t.Errorf("config.update_multi = %v, want true", cfg["update_multi"])
	}
	if s, _ := cfg["summary"].(map[string]any); s["content"] == nil {
		t.Error("config.summary.content is missing")
	}
	header, _ := doc["header"].(map[string]any)
	if title, _ := header["title"].(map[string]any); title["content"] == nil {
		t.Error("header.title is missing")
	}
	if tpl, _ := header["template"].(string); !slices.Contains(templates, tpl) {
		t.Errorf("header.template = %q, not a documented colour", tpl)
	}
	for _, tag := range list(header["text_tag_list"]) {
		if color := tag.(map[string]any)["color"].(string); !slices.Contains(tagColors, color) {
			t.Errorf("text_tag color %q is not documented", color)
		}
	}
	body, _ := doc["body"].(map[string]any)
	if len(list(body["elements"])) == 0 {
		t.Error("body.elements is empty")
	}
	components := 0
	walk("", doc, func(path string, v any) {
		switch x := v.(type) {
		case nil:
			t.Errorf("%s is null", path)
		case string:
			if x == "" {
				t.Errorf("%s is an empty string", path)
			}
		case []any:
			if len(x) == 0 {
				t.Errorf("%s is an empty list", path)
			}
		case map[string]any:
			if len(x) == 0 {
				t.Errorf("%s is an empty object", path)
			}
			tag, ok := x["tag"].(string)
			if !ok || strings.Contains(path, ".rows") || strings.Contains(path, ".chart_spec") || strings.Contains(path, ".value") {
				return
			}
			keys, known := allowedKeys[tag]
			if !known {
				t.Errorf("%s: tag %q is not one we know card JSON 2.0 documents", path, tag)
				return
			}
			for k := range x {
				if !slices.Contains(keys, k) {
					t.Errorf("%s: %s has undocumented attribute %q", path, tag, k)
				}
			}
			if !slices.Contains(notComponents, tag) {
				components++
			}
			checkComponent(t, path, tag, x)
		}
	})
	if components >= maxCardComponents {
		t.Errorf("card has %d components, limit %d", components, maxCardComponents)
	}
}

func checkComponent(t *testing.T, path, tag string, x map[string]any) {
	t.Helper()
	switch tag {
	case "table":
		if ps, _ := x["page_size"].(float64); ps < 1 || ps > 10 {
			t.Errorf("%s: page_size %v outside [1,10]", path, x["page_size"])
		}
		for _, col := range list(x["columns"]) {
			if dt := col.(map[string]any)["data_type"].(string); !slices.Contains(dataTypes, dt) {
				t.Errorf("%s: data_type %q", path, dt)
			}
		}
		for _, row := range list(x["rows"]) {
			for _, cell := range row.(map[string]any) {
				for _, opt := range list(cell) {
					if color, ok := opt.(map[string]any)["color"].(string); ok && !slices.Contains(tagColors, color) {
						t.Errorf("%s: option colour %q", path, color)
					}
				}
			}
		}
	case "button":
		if bt, _ := x["type"].(string); !slices.Contains(buttonTypes, bt) {
			t.Errorf("%s: button type %q", path, bt)
		}
		for _, b := range list(x["behaviors"]) {
			if b.(map[string]any)["type"] != "callback" {
				t.Errorf("%s: behaviour %v", path, b)
			}
		}
	}
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// walk calls visit on v and everything inside it, depth first.
func walk(path string, v any, visit func(path string, v any)) {
	visit(path, v)
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walk(path+"."+k, e, visit)
		}
	case []any:
		for i, e := range x {
			walk(fmt.Sprintf("%s[%d]", path, i), e, visit)
		}
	}
}
