package command

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	for _, c := range commandCases() {
		f.Add(c.text, string(c.def))
		f.Add("@_user_1 "+c.text+" @_user_2", "en_us")
	}
	f.Add("@_user_12@_user_1@_all@_user_", "")
	f.Add("\xff\xfe/noface", "zh_cn")
	f.Add("、", "en_us")
	r := Default()
	f.Fuzz(func(t *testing.T, text, def string) {
		in := input(text, Lang(def))
		got := r.Parse(in)
		if again := r.Parse(in); !reflect.DeepEqual(got, again) {
			t.Fatalf("Parse(%q) is not deterministic: %+v then %+v", text, got, again)
		}
		if got.Known != (got.Spec.Name != "") {
			t.Errorf("Known %v with command %q", got.Known, got.Spec.Name)
		}
		if got.Known && got.Suggest != "" {
			t.Errorf("known command %q also suggests %q", got.Spec.Name, got.Suggest)
		}
		if !got.Known && len(got.Args) > 0 {
			t.Errorf("unknown text has args %q", got.Args)
		}
		if got.Suggest != "" {
			if _, ok := r.Lookup(strings.TrimPrefix(got.Suggest, "/")); !ok {
				t.Errorf("suggests %q, which is no command", got.Suggest)
			}
		}
		if got.Lang != ZH && got.Lang != EN {
			t.Errorf("Lang = %q", got.Lang)
		}
		for i, u := range got.Users {
			if u != aliceID && u != bobID {
				t.Errorf("Users[%d] = %q, not a mentioned person", i, u)
			}
		}
		if len(got.Users) > 2 {
			t.Errorf("Users = %q, someone twice", got.Users)
		}
		if got.Text != strings.TrimSpace(got.Text) || strings.Contains(got.Text, "  ") {
			t.Errorf("Text %q has stray spaces", got.Text)
		}
		if utf8.ValidString(text) && !utf8.ValidString(got.Text) {
			t.Errorf("Text %q is not UTF-8 though the input was", got.Text)
		}
		// Parsing the normalised text again changes nothing: normalisation is a
		// fixed point, so what the bot logs is what it understood. A mention can
		// complete a command ("查询 @Alice"), so the command is compared only when
		// nobody was mentioned.
		re := r.Parse(input(got.Text, Lang(def)))
		if re.Text != got.Text || (len(got.Users) == 0 && re.Spec.Name != got.Spec.Name) {
			t.Errorf("re-parsing %q gives %q (%q), first gave %q", got.Text, re.Text, re.Spec.Name, got.Spec.Name)
		}
	})
}
