package cards

import (
	"strings"
	"testing"
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
	const zw = "\u200b"
	tests := []struct {
		name, in, want string
	}{
		{"plain text is unchanged", "Alice 张三 42", "Alice 张三 42"},
		{"empty", "", ""},
		{"mention everyone", "<at id=all></at>", "&lt;at id\\=all&gt;&lt;/at&gt;"},
		{"person tag", "<person id='ou_x'></person>", "&lt;person id\\='ou\\_x'&gt;&lt;/person&gt;"},
		{"font tag", "<font color=red>x</font>", "&lt;font color\\=red&gt;x&lt;/font&gt;"},
		{"entity cannot be smuggled", "&lt;at id=all&gt;", "&amp;lt;at id\\=all&amp;gt;"},
		{"bold and italics", "**a** *b* _c_ ~~d~~", "\\*\\*a\\*\\* \\*b\\* \\_c\\_ \\~\\~d\\~\\~"},
		{"inline code", "`rm -rf`", "\\`rm \\-rf\\`"},
		{"markdown link", "[x](https://evil.example)", "\\[x\\]\\(https\\:" + zw + "//evil.example\\)"},
		{"image", "![i](img_key)", "\\!\\[i\\]\\(img\\_key\\)"},
		{"bare url", "see https://evil.example/a", "see https\\:" + zw + "//evil.example/a"},
		{"bare www", "go to WWW.evil.example", "go to WWW" + zw + ".evil.example"},
		{"email", "bob@evil.example", "bob" + zw + "@evil.example"},
		{"heading after a newline", "a\n# title", "a \\# title"},
		{"heading at the start", "# title", "\\# title"},
		{"list item", "- item", "\\- item"},
		{"ordered list item", "12. item", "12\\. item"},
		{"a number with a point mid-text stays", "version 1.2", "version 1.2"},
		{"quote", "> quoted", "&gt; quoted"},
		{"table", "| a | b |", "\\| a \\| b \\|"},
		{"backslash cannot cancel an escape", `\<at id=all>`, `\\&lt;at id\=all&gt;`},
		{"carriage returns and tabs", "a\r\nb\tc", "a  b c"},
		{"unicode line separators", "a\u2028b\u2029c", "a b c"},
		{"NUL and escape characters", "a\x00b\x1bc", "a b c"},
		{"template variable", "${secret}", "\\$\\{secret\\}"},
		{"emoji shortcode", ":OK:", "\\:OK\\:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EscapeMarkdown(tt.in)
			if got != tt.want {
				t.Errorf("EscapeMarkdown(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			checkInert(t, got)
			if shown, want := render(got), flatten(tt.in); shown != want {
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
		"<<at id=all>>", "&#60;at id=all&#62;", "\\\\\\<at id=all>",
		"***\n---\n===\n```\ncode\n```",
		"1) one\n2) two\n  * nested",
		"\xff\xfe<at id=all>",
		strings.Repeat("*_[", 1000),
	}
	for i, in := range inputs {
		t.Run(strings.Repeat("x", i+1), func(t *testing.T) {
			got := EscapeMarkdown(in)
			checkInert(t, got)
			if shown, want := render(got), flatten(in); shown != want {
				t.Errorf("EscapeMarkdown(%q) would show %q, want %q", in, shown, want)
			}
		})
	}
}

// checkInert fails unless s has no tag, no line break, and no markdown
// punctuation left unescaped.
func checkInert(t *testing.T, s string) {
	t.Helper()
	if strings.ContainsAny(s, "<>\n\r") {
		t.Errorf("%q still has a tag bracket or a line break", s)
	}
	for _, bare := range []string{"://", "www.", "WWW."} {
		if strings.Contains(s, bare) {
			t.Errorf("%q still has %q, which would auto-link", s, bare)
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++ // the escaped character
		case strings.IndexByte("*_~`[]()#|!", c) >= 0:
			t.Errorf("%q has an unescaped %q at %d", s, c, i)
		}
	}
}

// render is what a CommonMark reader shows for escaped text: backslash escapes
// and entities resolved, zero-width spaces invisible.
func render(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "\u200b", "")
	return r.Replace(b.String())
}

// flatten is the text as it should show: every line break and control
// character a space.
func flatten(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

func TestEchoClipsLongInput(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short text is kept", "abc", "abc"},
		{"exactly the limit is kept", strings.Repeat("字", maxEcho), strings.Repeat("字", maxEcho)},
		{"longer is clipped by characters", strings.Repeat("字", maxEcho+1), strings.Repeat("字", maxEcho) + "…"},
		{"clipped, then escaped", strings.Repeat("*", maxEcho+5), strings.Repeat(`\*`, maxEcho) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := echo(tt.in); got != tt.want {
				t.Errorf("echo(%d runes) = %q, want %q", len([]rune(tt.in)), got, tt.want)
			}
		})
	}
}
