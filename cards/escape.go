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

// mdPunct are the characters markdown gives a meaning to inline (emphasis, code,
// links, images, tables, headings, lists); each is backslash-escaped.
const mdPunct = "\\`*_~[]()#|!+-=:{}$"

// EscapeMarkdown makes text safe to place inside a card's markdown: it shows as
// the same characters and can create no formatting, mention (<at>), person tag,
// link or new block. Feishu's markdown is CommonMark plus HTML-like tags, so:
//   - & < > become entities, which no tag can be made of;
//   - markdown punctuation is backslash-escaped;
//   - line breaks and control characters become spaces, so nothing can start a
//     heading, list, quote or table line;
//   - "://", "www." and "@" get a zero-width space, so bare URLs and e-mail
//     addresses are not auto-linked.
func EscapeMarkdown(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	// A "1." at the very start would begin an ordered list: track whether the
	// text so far is only leading spaces and then digits.
	leading, digits := true, false
	for i, r := range s {
		listDot := r == '.' && leading && digits
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r != ' ' || digits:
			leading = false
		}
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '/' && strings.HasPrefix(s[i:], "//") && i > 0 && s[i-1] == ':':
			b.WriteString("\u200b/")
		case r == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www"):
			b.WriteString("\u200b.")
		case r == '@':
			b.WriteString("\u200b@")
		case strings.ContainsRune(mdPunct, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case listDot:
			b.WriteString(`\.`)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
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
