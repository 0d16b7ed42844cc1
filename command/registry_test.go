package command

import (
	"slices"
	"strings"
	"testing"
)

func names(specs []Spec) []string {
	out := make([]string, 0, len(specs))
	for _, s := range specs {
		out = append(out, s.Name)
	}
	return out
}

func TestFor(t *testing.T) {
	r := Default()
	cases := []struct {
		role Role
		want []string
	}{
		{Anyone, []string{"help"}},
		{Reader, []string{"help", "noface", "nocard", "stats", "user", "doors"}},
		{Admin, []string{"help", "noface", "nocard", "stats", "user", "card", "refresh", "subscribe", "unsubscribe", "subscriptions", "push", "remind", "doors", "access", "usage"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.want, ","), func(t *testing.T) {
			if got := names(r.For(c.role)); !slices.Equal(got, c.want) {
				t.Errorf("For(%d) = %q, want %q", c.role, got, c.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	r := Default()
	cases := []struct {
		name   string
		wantOK bool
		role   Role
	}{
		{"help", true, Anyone},
		{"noface", true, Reader},
		{"card", true, Admin},
		{"remind", true, Admin},
		{"/noface", false, Anyone},
		{"NoFace", false, Anyone},
		{"", false, Anyone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, ok := r.Lookup(c.name)
			if ok != c.wantOK || (ok && (s.Name != c.name || s.Role != c.role)) {
				t.Errorf("Lookup(%q) = %q role %d %v, want ok %v role %d", c.name, s.Name, s.Role, ok, c.wantOK, c.role)
			}
		})
	}
}

func TestSpecsIsACopy(t *testing.T) {
	r := Default()
	specs := r.Specs()
	specs[0].Name = "changed"
	if got := r.Specs()[0].Name; got != "help" {
		t.Errorf("Specs()[0].Name = %q after changing a returned copy, want help", got)
	}
}

// TestSpecsComplete checks what the help card relies on: every command has its
// usage, help and examples in both languages.
func TestSpecsComplete(t *testing.T) {
	for _, s := range Default().Specs() {
		t.Run(s.Name, func(t *testing.T) {
			if s.Name == "" || s.Name != strings.ToLower(s.Name) {
				t.Errorf("name %q is not lower case", s.Name)
			}
			if !strings.HasPrefix(s.Usage, s.Slash()) {
				t.Errorf("usage %q does not start with %q", s.Usage, s.Slash())
			}
			for _, l := range []Lang{ZH, EN} {
				if s.Help[l] == "" {
					t.Errorf("no %s help", l)
				}
				if len(s.Examples[l]) == 0 {
					t.Errorf("no %s examples", l)
				}
			}
		})
	}
}

// TestPhrasesAreUnambiguous: a phrase must be written the way the parser sees it,
// belong to one command only, and parse to that command.
func TestPhrasesAreUnambiguous(t *testing.T) {
	r := Default()
	owner := map[string]string{}
	for _, s := range r.Specs() {
		for _, p := range slices.Concat(s.English, s.Chinese) {
			t.Run(s.Name+"/"+p, func(t *testing.T) {
				if got := tidy(fold(p)); got != p {
					t.Errorf("phrase %q normalises to %q", p, got)
				}
				if o, dup := owner[p]; dup {
					t.Errorf("phrase %q belongs to %s and %s", p, o, s.Name)
				}
				owner[p] = s.Name
				text := p + sampleArg(s.Arg)
				if got := r.Parse(input(text, "")); got.Spec.Name != s.Name {
					t.Errorf("Parse(%q) = %q, want %q", text, got.Spec.Name, s.Name)
				}
			})
		}
	}
}

// TestExamplesParse: what the help card tells people to type works.
func TestExamplesParse(t *testing.T) {
	r := Default()
	for _, s := range r.Specs() {
		for _, l := range []Lang{ZH, EN} {
			for _, ex := range s.Examples[l] {
				t.Run(s.Name+"/"+ex, func(t *testing.T) {
					// A typed "@Name" reaches the bot as a placeholder.
					words := strings.Fields(ex)
					for i, w := range words {
						if strings.HasPrefix(w, "@") {
							words[i] = "@_user_2"
						}
					}
					text := strings.Join(words, " ")
					got := r.Parse(input(text, l))
					if got.Spec.Name != s.Name {
						t.Fatalf("Parse(%q) = %q, want %q", text, got.Spec.Name, s.Name)
					}
					if got.Lang != l {
						t.Errorf("Parse(%q).Lang = %q, want %q", text, got.Lang, l)
					}
				})
			}
		}
	}
}

func sampleArg(k ArgKind) string {
	switch k {
	case ArgPerson:
		return " @_user_2"
	case ArgNumber:
		return " 123456"
	case ArgClock:
		return " 09:30"
	case ArgCommand:
		return " noface"
	case ArgDate:
		return " 2026-11-25"
	default:
		return ""
	}
}
