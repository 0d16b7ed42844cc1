package cards

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"testing"

	"acsbot/acs"
	"acsbot/command"
)

// shownList is what a list card shows, read back from its JSON.
type shownList struct {
	ids   []string
	faces []string
	cards []string
	prev  *pageValue
	next  *pageValue
}

func readList(t *testing.T, lang command.Lang, c Card) shownList {
	t.Helper()
	labels := listStrings(lang, NoFace)
	raw, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Body struct {
			Elements []json.RawMessage `json:"elements"`
		} `json:"body"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var got shownList
	for _, e := range doc.Body.Elements {
		var el struct {
			Tag  string `json:"tag"`
			Rows []struct {
				Person string `json:"person"`
				Card   string `json:"card"`
				Face   []struct {
					Text string `json:"text"`
				} `json:"face"`
			} `json:"rows"`
			Columns []struct {
				Elements []struct {
					Text      Text `json:"text"`
					Behaviors []struct {
						Value pageValue `json:"value"`
					} `json:"behaviors"`
				} `json:"elements"`
			} `json:"columns"`
		}
		if err := json.Unmarshal(e, &el); err != nil {
			t.Fatal(err)
		}
		switch el.Tag {
		case "table":
			for _, r := range el.Rows {
				got.ids = append(got.ids, r.Person)
				got.cards = append(got.cards, r.Card)
				for _, f := range r.Face {
					got.faces = append(got.faces, f.Text)
				}
			}
		case "column_set":
			for _, col := range el.Columns {
				for _, b := range col.Elements {
					v := b.Behaviors[0].Value
					switch b.Text.Content {
					case labels.prev:
						got.prev = &v
					case labels.next:
						got.next = &v
					default:
						t.Fatalf("unexpected button %q", b.Text.Content)
					}
				}
			}
		}
	}
	return got
}

func ids(users []acs.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func TestListPaging(t *testing.T) {
	const p = PageSize
	users := makeUsers(2*p + 20)
	tests := []struct {
		name       string
		users      []acs.User
		page       int
		from, to   int // users[from:to] are shown
		prev, next int // 0: no button
	}{
		{"first page", users, 1, 0, p, 0, 2},
		{"page 2 is the second PageSize users", users, 2, p, 2 * p, 1, 3},
		{"last page is short", users, 3, 2 * p, 2*p + 20, 2, 0},
		{"page 0 is clamped to the first", users, 0, 0, p, 0, 2},
		{"negative page is clamped to the first", users, -7, 0, p, 0, 2},
		{"a page past the end is the last", users, 99, 2 * p, 2*p + 20, 2, 0},
		{"exactly one page has no buttons", users[:p], 1, 0, p, 0, 0},
		{"one more than a page has two pages", users[:p+1], 2, p, p + 1, 1, 0},
		{"a single user", users[:1], 1, 0, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readList(t, command.EN, List(View{Lang: command.EN}, NoFace, tt.users, tt.page))
			if want := ids(tt.users[tt.from:tt.to]); !slices.Equal(got.ids, want) {
				t.Errorf("shown %d users %v..., want users %d..%d", len(got.ids), head(got.ids), tt.from+1, tt.to)
			}
			checkButton(t, "prev", got.prev, tt.prev)
			checkButton(t, "next", got.next, tt.next)
		})
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

func checkButton(t *testing.T, name string, got *pageValue, wantPage int) {
	t.Helper()
	switch {
	case wantPage == 0 && got != nil:
		t.Errorf("%s button to %+v, want none", name, *got)
	case wantPage != 0 && got == nil:
		t.Errorf("no %s button, want one to page %d", name, wantPage)
	case wantPage != 0 && (*got != pageValue{A: "page", Q: NoFace, P: wantPage, L: command.EN}):
		t.Errorf("%s button value %+v, want page %d of noface in en_us", name, *got, wantPage)
	}
}

// TestNoFaceListShowsExactlyTheGivenUsers: the caller filters the directory; the
// card must show those users, in order, and never anyone with a face photo.
func TestNoFaceListShowsExactlyTheGivenUsers(t *testing.T) {
	directory := makeUsers(300)
	nf := noFace(directory)
	var shown []string
	for page := 1; ; page++ {
		got := readList(t, command.EN, List(View{Lang: command.EN}, NoFace, nf, page))
		for _, f := range got.faces {
			if f != "missing" {
				t.Fatalf("page %d shows face %q on the no-face list", page, f)
			}
		}
		shown = append(shown, got.ids...)
		if got.next == nil {
			break
		}
		if got.next.P != page+1 {
			t.Fatalf("page %d leads to page %d", page, got.next.P)
		}
	}
	if want := ids(nf); !slices.Equal(shown, want) {
		t.Errorf("paging through shows %d users, want the %d given, in order", len(shown), len(want))
	}
	withFace := map[string]bool{}
	for _, u := range directory {
		if u.FaceUploaded {
			withFace[u.ID] = true
		}
	}
	for _, id := range shown {
		if withFace[id] {
			t.Errorf("%s has a face photo but is on the no-face list", id)
		}
	}
}

func TestListCardNumbers(t *testing.T) {
	users := []acs.User{{ID: "ou_1", Card: 12345678}, {ID: "ou_2", Card: 0}, {ID: "ou_3", Card: 7}}
	tests := []struct {
		name string
		full bool
		want []string
	}{
		{"masked outside an admin's direct chat", false, []string{"******78", "none", "*"}},
		{"full for an admin in a direct chat", true, []string{"12345678", "none", "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readList(t, command.EN, List(View{Lang: command.EN, ShowCardNumbers: tt.full}, NoFace, users, 1))
			if !slices.Equal(got.cards, tt.want) {
				t.Errorf("cards = %q, want %q", got.cards, tt.want)
			}
		})
	}
}

// TestListLimitsAt100k builds pages of a 100,000-person directory and checks
// they stay inside Feishu's 30 KB and 200 components.
func TestListLimitsAt100k(t *testing.T) {
	users := makeUsers(100_000 / PageSize * PageSize) // whole pages, the last one too
	pages := len(users) / PageSize
	for _, lang := range langs {
		for _, full := range []bool{false, true} {
			for _, page := range []int{1, pages / 2, pages} {
				v := view(lang, full)
				v.Refreshing = true
				t.Run(string(lang)+"_full_"+strconv.FormatBool(full)+"_page_"+strconv.Itoa(page), func(t *testing.T) {
					c := List(v, NoFace, users, page)
					checkCard(t, c)
					if got := readList(t, lang, c); len(got.ids) != PageSize {
						t.Errorf("page %d shows %d users, want %d", page, len(got.ids), PageSize)
					}
				})
			}
		}
	}
}

func BenchmarkListPage100k(b *testing.B) {
	users := makeUsers(100_000)
	v := view(command.ZH, false)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		raw, err := List(v, NoFace, users, 1+i%2000).JSON()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(raw)))
	}
}

func TestParsePageAction(t *testing.T) {
	tests := []struct {
		name  string
		value map[string]any
		want  PageAction
		ok    bool
	}{
		{"JSON number", map[string]any{"a": "page", "q": "noface", "p": float64(2)}, PageAction{Kind: NoFace, Page: 2}, true},
		{"string page", map[string]any{"a": "page", "q": "nocard", "p": "3"}, PageAction{Kind: NoCard, Page: 3}, true},
		{"int page", map[string]any{"a": "page", "q": "noface", "p": 4}, PageAction{Kind: NoFace, Page: 4}, true},
		{"extra keys are ignored", map[string]any{"a": "page", "q": "noface", "p": float64(1), "x": "y"}, PageAction{Kind: NoFace, Page: 1}, true},
		{"card language kept", map[string]any{"a": "page", "q": "noface", "p": float64(2), "l": "en_us"}, PageAction{Kind: NoFace, Page: 2, Lang: command.EN}, true},
		{"unknown language dropped", map[string]any{"a": "page", "q": "noface", "p": float64(2), "l": "fr_fr"}, PageAction{Kind: NoFace, Page: 2}, true},
		{"language not a string dropped", map[string]any{"a": "page", "q": "nocard", "p": float64(2), "l": 7}, PageAction{Kind: NoCard, Page: 2}, true},
		{"nil map", nil, PageAction{}, false},
		{"empty map", map[string]any{}, PageAction{}, false},
		{"other action", map[string]any{"a": "remind", "q": "noface", "p": float64(1)}, PageAction{}, false},
		{"action not a string", map[string]any{"a": 1, "q": "noface", "p": float64(1)}, PageAction{}, false},
		{"unknown list", map[string]any{"a": "page", "q": "admins", "p": float64(1)}, PageAction{}, false},
		{"list not a string", map[string]any{"a": "page", "q": []any{"noface"}, "p": float64(1)}, PageAction{}, false},
		{"missing page", map[string]any{"a": "page", "q": "noface"}, PageAction{}, false},
		{"page zero", map[string]any{"a": "page", "q": "noface", "p": float64(0)}, PageAction{}, false},
		{"negative page", map[string]any{"a": "page", "q": "noface", "p": float64(-1)}, PageAction{}, false},
		{"fractional page", map[string]any{"a": "page", "q": "noface", "p": 1.5}, PageAction{}, false},
		{"NaN page", map[string]any{"a": "page", "q": "noface", "p": math.NaN()}, PageAction{}, false},
		{"infinite page", map[string]any{"a": "page", "q": "noface", "p": math.Inf(1)}, PageAction{}, false},
		{"huge page", map[string]any{"a": "page", "q": "noface", "p": 1e300}, PageAction{}, false},
		{"huge string page", map[string]any{"a": "page", "q": "noface", "p": "99999999999999999999"}, PageAction{}, false},
		{"string page not a number", map[string]any{"a": "page", "q": "noface", "p": "two"}, PageAction{}, false},
		{"string page with spaces", map[string]any{"a": "page", "q": "noface", "p": " 2"}, PageAction{}, false},
		{"string page zero", map[string]any{"a": "page", "q": "noface", "p": "0"}, PageAction{}, false},
		{"bool page", map[string]any{"a": "page", "q": "noface", "p": true}, PageAction{}, false},
		{"object page", map[string]any{"a": "page", "q": "noface", "p": map[string]any{"n": 1}}, PageAction{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParsePageAction(tt.value)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParsePageAction(%v) = %+v, %v; want %+v, %v", tt.value, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestPageActionRoundTrip: what a Prev/Next button carries, after Feishu echoes
// it back as JSON, parses to the page the button promised.
func TestPageActionRoundTrip(t *testing.T) {
	for _, want := range []PageAction{{NoFace, 1, ""}, {NoCard, 2, command.EN}, {NoFace, 2000, command.ZH}} {
		t.Run(string(want.Kind)+"_"+strconv.Itoa(want.Page), func(t *testing.T) {
			raw, err := json.Marshal(want.value())
			if err != nil {
				t.Fatal(err)
			}
			var value map[string]any
			if err := json.Unmarshal(raw, &value); err != nil {
				t.Fatal(err)
			}
			got, ok := ParsePageAction(value)
			if !ok || got != want {
				t.Errorf("%s parses to %+v, %v; want %+v", raw, got, ok, want)
			}
		})
	}
}
