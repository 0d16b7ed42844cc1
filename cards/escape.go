package cards

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaskCard shows a card number with all but its last 2 digits masked: 123456 →
// "****56". Numbers of 2 digits or fewer are masked whole, since their last 2
// digits are the whole number. No card (0 or less) gives "". The result is text:
// show it in a text column, never a number column.
func MaskCard(n int) string {
	if n <= 0 {
		return ""
	}
	s := strconv.Itoa(n)
	if len(s) <= 2 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-2) + s[len(s)-2:]
}

// markdownChars are the characters a card's markdown gives a meaning to:
// emphasis, code, links, images, tags, entities, headings, lists, quotes,
// tables, rules, emoji codes (:OK:), and what bare links and e-mail addresses
// are made of (":", "/", "@", "."). The rich text component's page, section
// "特殊字符转义说明" (card JSON 2.0), says such a character shows as itself
// only when written as an HTML entity, &#N; with N its code: "*" as "&#42;".
const markdownChars = "\\`*_~[]()#+-!<>&|:/@.\"'$="

// EscapeMarkdown makes text safe to place inside a card's markdown: every
// character shows as itself, and none of them can make formatting, a
// mention (<at>), a person tag, a link or a new block.
//   - each of markdownChars becomes its entity (&#126; for "~": the page lists
//     &sim;, which HTML defines as "∼", not "~");
//   - a line break becomes <br>, the page's line break, since a single "\n"
//     may show as nothing;
//   - spaces at either end become &#32;, since markdown drops them from a line
//     and four at its start make a code block; a tab, which counts as four,
//     becomes &#9;;
//   - other control characters, which show as nothing, become spaces.
func EscapeMarkdown(s string) string {
	// Control characters become spaces first, so that one at an end is
	// escaped like any space there.
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return ' '
		}
		return r
	}, s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	text := strings.TrimRight(s, " ")
	first := len(s) - len(strings.TrimLeft(s, " "))
	for i, r := range s {
		switch {
		case r == ' ' && (i < first || i >= len(text)):
			b.WriteString("&#32;")
		case r == '\r' && strings.HasPrefix(s[i:], "\r\n"):
			// The "\n" that follows writes the break.
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			b.WriteString("<br>")
		case r == '\t' || r < utf8.RuneSelf && strings.ContainsRune(markdownChars, r):
			b.WriteString("&#")
			b.WriteString(strconv.Itoa(int(r)))
			b.WriteByte(';')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maxEcho bounds text a user typed when a card repeats it, so one long message
// cannot push a card past Feishu's 30 KB.
const maxEcho = 200

// echo is user-supplied text as a card's markdown may repeat it: clipped, then
// escaped.
func echo(s string) string { return EscapeMarkdown(clip(s, maxEcho)) }

// clip cuts s to at most n characters, marking a cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
