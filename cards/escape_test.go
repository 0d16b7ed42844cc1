package cards

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

func TestMaskCard(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, ""},
		{-5, ""},
		{7, "*"},
		{42, "**"},
		{123, "*23"},
		{123456, "****56"},
		{1000000, "*****00"},
		{4294967295, "********95"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := MaskCard(tt.n); got != tt.want {
				t.Errorf("MaskCard(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestEscapeMarkdown(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text is unchanged", "Alice 张三 42 😀", "Alice 张三 42 😀"},
		{"empty", "", ""},
		{"mention everyone", "<at id=all></at>", "&#60;at id&#61;all&#62;&#60;&#47;at&#62;"},
		{"person tag", "<person id='ou_x'></person>", "&#60;person id&#61;&#39;ou&#95;x&#39;&#62;&#60;&#47;person&#62;"},
		{"font tag", "<font color=red>x</font>", "&#60;font color&#61;red&#62;x&#60;&#47;font&#62;"},
		{"an entity cannot be smuggled", "&#60;at id=all&#62;", "&#38;&#35;60;at id&#61;all&#38;&#35;62;"},
		{"bold and italics", "**a** *b* _c_ __d__", "&#42;&#42;a&#42;&#42; &#42;b&#42; &#95;c&#95; &#95;&#95;d&#95;&#95;"},
		{"strike-through", "~~d~~", "&#126;&#126;d&#126;&#126;"},
		{"inline code", "`rm -rf`", "&#96;rm &#45;rf&#96;"},
		{"markdown link", "[x](https://evil.example)", "&#91;x&#93;&#40;https&#58;&#47;&#47;evil&#46;example&#41;"},
		{"image", "![i](img_key)", "&#33;&#91;i&#93;&#40;img&#95;key&#41;"},
		{"bare url", "see www.evil.example", "see www&#46;evil&#46;example"},
		{"email", "bob@evil.example", "bob&#64;evil&#46;example"},
		{"heading after a newline", "a\n# title", "a<br>&#35; title"},
		{"list item", "- item", "&#45; item"},
		{"ordered list item", "12. item", "12&#46; item"},
		{"quote", "> quoted", "&#62; quoted"},
		{"table", "| a | b |", "&#124; a &#124; b &#124;"},
		{"setext underline", "===", "&#61;&#61;&#61;"},
		{"backslash", `\<at id=all>`, "&#92;&#60;at id&#61;all&#62;"},
		{"quotes", `"a" 'b'`, "&#34;a&#34; &#39;b&#39;"},
		{"template variable", "${secret}", "&#36;{secret}"},
		{"emoji code", ":OK:", "&#58;OK&#58;"},
		{"line breaks of every kind", "a\r\nb\rc\nd\u2028e\u2029f", "a<br>b<br>c<br>d<br>e<br>f"},
		{"spaces at the ends", "    code  ", "&#32;&#32;&#32;&#32;code&#32;&#32;"},
		{"spaces inside stay", "a  b", "a  b"},
		{"only spaces", "  ", "&#32;&#32;"},
		{"a tab", "\tx", "&#9;x"},
		{"NUL and escape characters", "a\x00b\x1bc\u0085d", "a b c d"},
		{"a control character at an end", "\x1bx\x7f", "&#32;x&#32;"},
		{"broken UTF-8", "a\xffb", "a\ufffdb"},
		{"full-width punctuation stays", "＊＃（）", "＊＃（）"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EscapeMarkdown(tt.in)
			if got != tt.want {
				t.Errorf("EscapeMarkdown(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			checkInert(t, got)
			if shown, want := decode(got), shown(tt.in); shown != want {
				t.Errorf("EscapeMarkdown(%q) would show %q, want %q", tt.in, shown, want)
			}
		})
	}
}

// TestEscapeMarkdownHostile throws attack strings at EscapeMarkdown: whatever
// goes in, nothing active comes out, and the reader still sees the text.
func TestEscapeMarkdownHostile(t *testing.T) {
	inputs := []string{
		hostile,
		"<at ids=ou_1,ou_2></at><at email=a@b.c></at>",
		"<a href='https://evil.example'>x</a><link url='https://evil.example'>y</link>",
		"<local_datetime millisecond=0></local_datetime><raw>x</raw><text_tag color='red'>x</text_tag>",
		"[x](javascript:alert(1)) [y][ref]\n\n[ref]: https://evil.example",
		"<<at id=all>>", "&#60;at id=all&#62;", "&lt;at id=all&gt;", "\\\\\\<at id=all>",
		"***\n---\n===\n```\ncode\n```",
		"1) one\n2) two\n    * nested",
		"\xff\xfe<at id=all>",
		strings.Repeat("*_[", 1000),
	}
	for i, in := range inputs {
		t.Run(strings.Repeat("x", i+1), func(t *testing.T) {
			got := EscapeMarkdown(in)
			checkInert(t, got)
			if shown, want := decode(got), shown(in); shown != want {
				t.Errorf("EscapeMarkdown(%q) would show %q, want %q", in, shown, want)
			}
		})
	}
}

// checkInert fails unless every character of s that markdown gives a meaning
// to is part of an entity or of a <br>, and no line break is left.
func checkInert(t *testing.T, s string) {
	t.Helper()
	rest := entityRe.ReplaceAllString(strings.ReplaceAll(s, "<br>", ""), "")
	if i := strings.IndexAny(rest, markdownChars+"\t\n\r\u2028\u2029"); i >= 0 {
		t.Errorf("%q keeps %q unescaped", s, rest[i:i+1])
	}
	if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		t.Errorf("%q has a space at an end, which markdown drops", s)
	}
}

// entityRe is one numeric character reference.
var entityRe = regexp.MustCompile(`&#[0-9]+;`)

// decode is what a reader sees of escaped text: entities resolved and <br> a
// line break. TestCardTextShowsLiterally renders whole cards instead.
func decode(s string) string {
	return html.UnescapeString(strings.ReplaceAll(s, "<br>", "\n"))
}

// shown is text as a card must show it: line breaks as "\n", other control
// characters as spaces, and broken UTF-8 as U+FFFDs, the only changes
// EscapeMarkdown may make to what a reader sees.
func shown(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\u2028' || r == '\u2029':
			return '\n'
		case r != '\n' && r != '\t' && unicode.IsControl(r):
			return ' '
		}
		return r
	}, s) // strings.Map, like json, makes each byte of broken UTF-8 a U+FFFD
}

func TestEchoClipsLongInput(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short text is kept", "abc", "abc"},
		{"exactly the limit is kept", strings.Repeat("字", maxEcho), strings.Repeat("字", maxEcho)},
		{"longer is clipped by characters", strings.Repeat("字", maxEcho+1), strings.Repeat("字", maxEcho) + "…"},
		{"clipped, then escaped", strings.Repeat("*", maxEcho+5), strings.Repeat("&#42;", maxEcho) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := echo(tt.in); got != tt.want {
				t.Errorf("echo(%d runes) = %q, want %q", len([]rune(tt.in)), got, tt.want)
			}
		})
	}
}
