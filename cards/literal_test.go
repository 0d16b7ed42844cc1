package cards

import (
	"flag"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"acsbot/acs"
	"acsbot/cardhtml"
	"acsbot/command"
)

var literalSeed = flag.Uint64("literal.seed", 0, "seed for TestCardTextShowsLiterally (0: a new one each run)")

// marker stands for the person's text when a card is built for comparison;
// it has nothing to escape.
const marker = "QzMarkerQz"

// sink is one place a card builder puts text a person chose.
type sink struct {
	name  string
	build func(lang command.Lang, s string) Card
	// want is what the card must show for s, before shown or plainShown.
	want func(s string) string
	// plain says the text lands in a plain text field (a table cell), where
	// nothing is markdown.
	plain bool
	// skip says the card shows something else for s: no argument, no error.
	skip func(s string) bool
}

func sinks() []sink {
	echoed := func(s string) string { return clip(s, maxEcho) }
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	return []sink{
		{name: "person not found", want: echoed, build: func(l command.Lang, s string) Card {
			return Person(view(l, false), s, acs.User{}, false)
		}},
		{name: "usage", want: echoed, skip: blank, build: func(l command.Lang, s string) Card {
			return Usage(l, testSpecs()[3], s)
		}},
		{name: "bad time", want: echoed, build: BadTime},
		{name: "subscribed chat", want: echoed, build: func(l command.Lang, s string) Card {
			return Subscribed(l, s, "09:30", "Asia/Shanghai", now)
		}},
		{name: "unsubscribed chat", want: echoed, build: func(l command.Lang, s string) Card { return Unsubscribed(l, s, true) }},
		{name: "chat not subscribed", want: echoed, build: func(l command.Lang, s string) Card { return Unsubscribed(l, s, false) }},
		{name: "error message", want: func(s string) string { return clip(strings.TrimSpace(s), maxEcho) }, skip: blank, build: func(l command.Lang, s string) Card {
			return Error(l, 42, s)
		}},
		{name: "subscription table chat", plain: true, want: func(s string) string { return clip(s, 40) }, build: func(l command.Lang, s string) Card {
			return Subscriptions(l, "", []SubscriptionRow{{Chat: s, At: "09:30"}})
		}},
		{name: "subscription table error", plain: true, skip: func(s string) bool { return s == "" }, want: func(s string) string { return clip(s, 60) }, build: func(l command.Lang, s string) Card {
			return Subscriptions(l, "", []SubscriptionRow{{Chat: "c", At: "09:30", LastError: s}})
		}},
		{name: "reminder failure reason", plain: true, want: func(s string) string { return clip(s, 120) }, build: func(l command.Lang, s string) Card {
			return ReminderResult(l, ReminderReport{Failed: []ReminderFailure{{UserID: "ou_a", Reason: s}}})
		}},
	}
}

// TestCardTextShowsLiterally is the promise of EscapeMarkdown, kept through
// the card builders: whatever a person types, or names a chat, the card shows
// exactly that text and makes nothing of it. Each card is rendered by
// cardhtml, which reads markdown as Feishu documents it, and compared with the
// same card built around a harmless marker: the text must be the marker's text
// with the input in its place, and the HTML must have the same elements.
func TestCardTextShowsLiterally(t *testing.T) {
	seed := *literalSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, seed>>32))
	rounds := 300
	if testing.Short() {
		rounds = 30
	}
	for _, sk := range sinks() {
		t.Run(sk.name, func(t *testing.T) {
			for _, lang := range langs {
				frame := render(t, sk.build(lang, marker))
				if strings.Count(frame.text, marker) != 1 {
					t.Fatalf("the marker shows %d times in %q", strings.Count(frame.text, marker), frame.text)
				}
				for range rounds {
					in := randomText(rng)
					if sk.skip != nil && sk.skip(in) {
						continue
					}
					want := shown(sk.want(in))
					if sk.plain {
						want = plainShown(sk.want(in))
					}
					got := render(t, sk.build(lang, in))
					if w := strings.Replace(frame.text, marker, want, 1); got.text != w {
						t.Fatalf("-literal.seed=%d: %s card for %q shows\n%q\nwant\n%q", seed, lang, in, got.text, w)
					}
					if !slices.Equal(got.elements, frame.elements) {
						t.Fatalf("-literal.seed=%d: %s card for %q has elements\n%v\nwant\n%v", seed, lang, in, got.elements, frame.elements)
					}
				}
			}
		})
	}
}

// FuzzEscapeMarkdown checks the same promise on one card for any string the
// fuzzer finds; as a plain test it runs the seeds.
func FuzzEscapeMarkdown(f *testing.F) {
	for _, s := range []string{"", hostile, "a\r\nb", "    x", "&#42;", "_a_ __b__", "\xff<at id=all>", "x  \ny", "1. a", ":OK: www.a.b a@b.c"} {
		f.Add(s)
	}
	frame := render(f, BadTime(command.EN, marker))
	f.Fuzz(func(t *testing.T, in string) {
		esc := EscapeMarkdown(in)
		checkInert(t, esc)
		if got := decode(esc); got != shown(in) {
			t.Fatalf("EscapeMarkdown(%q) = %q shows %q", in, esc, got)
		}
		got := render(t, BadTime(command.EN, in))
		if w := strings.Replace(frame.text, marker, shown(clip(in, maxEcho)), 1); got.text != w {
			t.Fatalf("card for %q shows %q, want %q", in, got.text, w)
		}
		if !slices.Equal(got.elements, frame.elements) {
			t.Fatalf("card for %q has elements %v, want %v", in, got.elements, frame.elements)
		}
	})
}

// rendered is what a reader gets of a card: its text, with <br> a line
// break, and the elements that carry meaning (emphasis, links, mentions...).
type rendered struct {
	text     string
	elements []string
}

func render(t testing.TB, c Card) rendered {
	t.Helper()
	raw, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cardhtml.Render(raw, cardhtml.Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	var r rendered
	var b strings.Builder
	for n := range doc.Descendants() {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
		case html.ElementNode:
			if n.Data == "br" {
				// A line break the person typed shows as one.
				b.WriteByte('\n')
				continue
			}
			el := n.Data
			for _, a := range n.Attr {
				if a.Key == "class" {
					el += "." + a.Val
				}
			}
			r.elements = append(r.elements, el)
		}
	}
	r.text = b.String()
	return r
}

// plainShown is text as a plain text field shows it in the console: broken
// UTF-8 as U+FFFDs (JSON does that), CR LF and CR as LF and NUL dropped (HTML
// does that). Nothing else changes.
func plainShown(s string) string {
	s = strings.ReplaceAll(strings.Map(func(r rune) rune { return r }, s), "\r\n", "\n")
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r", "\n"), "\x00", "")
}

// pieces are what random text is made of: every character markdown or
// Feishu's tags give a meaning to, line breaks and spaces of every kind, and
// whole constructs that would be live if they got through.
var pieces = []string{
	"*", "_", "~", "`", "[", "]", "(", ")", "#", ">", "<", "&", "|", `\`, "\n", "@",
	"!", "-", "+", ".", ":", "/", `"`, "'", "$", "=", "{", "}", ";",
	" ", "  ", "    ", "\t", "\r", "\r\n", "\n\n", "\u2028", "\u2029", "\u00a0", "\u3000",
	"\x00", "\x1b", "\u0085", "\u200b", "\xff",
	"**", "__", "~~", "```", "<at id=all></at>", "<at id=ou_x></at>", "<person id='ou_x'></person>",
	"<font color=red>", "</font>", "<br>", "<hr>", "&#42;", "&lt;", "&amp;", "&sim;", "&#x2A;",
	"[a](https://evil.example)", "![i](img_key)", "http://a.example", "www.a.example", "a@b.example",
	":OK:", "${x}", "1. ", "1) ", "- ", "> ", "# ", "---", "===", "| a |",
}

// randomText is up to 40 pieces, letters, CJK, emoji or any other character.
func randomText(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(41) {
		switch rng.IntN(6) {
		case 0, 1:
			b.WriteString(pieces[rng.IntN(len(pieces))])
		case 2:
			b.WriteByte("abcXYZ019"[rng.IntN(9)])
		case 3:
			b.WriteRune(rune(0x4e00 + rng.IntN(0x9fff-0x4e00))) // CJK
		case 4:
			b.WriteString([]string{"😀", "👍🏽", "👨‍👩‍👧", "🇨🇳", "❤️", "1️⃣"}[rng.IntN(6)])
		default:
			r := rune(rng.IntN(utf8.MaxRune + 1))
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
