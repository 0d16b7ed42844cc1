package cardhtml

import (
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Feishu's markdown component is CommonMark without HTML blocks, plus a few
// tags of its own (<at>, <person>, <font>, <text_tag>, <a>, <link>, <br>, <hr>).
// The converter below reads the part of it cards use and writes only HTML it
// generates: every character of the source reaches the page escaped.
//
// Where the rich text page ("富文本（Markdown）", card JSON 2.0) departs from
// CommonMark or warns, the console takes the reading that shows a card's
// problems: a single "\n" is a soft break, which "may be ignored", so it shows
// as a space; entities such as &#42; show as their character, which is how
// the page tells bots to write markdown characters that must show as text.

// maxInlineDepth bounds nesting of emphasis, links and tags.
const maxInlineDepth = 8

var (
	headingRe = regexp.MustCompile(`^(#{1,6})\s+(.*)$`)
	bulletRe  = regexp.MustCompile(`^\s*[-*+]\s+(.*)$`)
	orderedRe = regexp.MustCompile(`^\s*([0-9]{1,9})[.)]\s+(.*)$`)
	quoteRe   = regexp.MustCompile(`^\s*>\s?(.*)$`)
	ruleRe    = regexp.MustCompile(`^\s*(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,}|<hr\s*/?>)\s*$`)
	entityRe  = regexp.MustCompile(`^&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});`)
	// legacyRe is a name after "&" without its ";". Feishu still reads the
	// old HTML ones, such as &reg and &copy, as their character (cards FAQ).
	legacyRe = regexp.MustCompile(`^&[a-zA-Z][a-zA-Z0-9]{0,31}`)
	tagRe    = regexp.MustCompile(`^<(/?)([a-zA-Z_]+)((?:\s+[^<>]*?)?)\s*/?>`)
	attrRe   = regexp.MustCompile(`([a-zA-Z_]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
)

// blockKind is the markdown block a line belongs to.
type blockKind int

const (
	noBlock blockKind = iota
	paragraph
	bullets
	numbers
	quote
)

// markdown writes src as HTML blocks: paragraphs, lists, quotes, headings,
// rules and code blocks, fenced or indented.
func (r *renderer) markdown(src string) {
	lines := splitLines(src)
	open := noBlock
	// hard says the line before ended in two spaces: CommonMark's hard break.
	hard := false
	closeBlock := func() {
		switch open {
		case paragraph, quote:
			r.w(`</div>`)
		case bullets:
			r.w(`</li></ul>`)
		case numbers:
			r.w(`</li></ol>`)
		}
		open = noBlock
	}
	// text writes one line's inline content, without the spaces around it,
	// which CommonMark drops.
	text := func(line string) {
		trimmed := strings.TrimRight(line, " \t")
		hard = len(line)-len(trimmed) >= 2
		r.inline(strings.TrimLeft(trimmed, " \t"), 0)
	}
	// lineBreak joins a line to the one before in the same block.
	lineBreak := func() {
		if hard {
			r.w(`<br>`)
		} else {
			r.w("\n")
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			closeBlock()
			r.w(`<pre class="fc-code"><code>`)
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				r.esc(lines[i])
				r.w("\n")
			}
			r.w(`</code></pre>`)
			continue
		}
		if strings.TrimSpace(line) == "" {
			closeBlock()
			continue
		}
		// Four spaces or a tab start an indented code block, except where the
		// line continues a paragraph or a list.
		if open == noBlock && indented(line) {
			r.w(`<pre class="fc-code"><code>`)
			end := i
			for j := i; j < len(lines) && (indented(lines[j]) || strings.TrimSpace(lines[j]) == ""); j++ {
				if strings.TrimSpace(lines[j]) != "" {
					end = j
				}
			}
			for ; i <= end; i++ {
				r.esc(unindent(lines[i]))
				r.w("\n")
			}
			i = end
			r.w(`</code></pre>`)
			continue
		}
		if ruleRe.MatchString(line) {
			closeBlock()
			r.w(`<hr class="fc-hr">`)
			continue
		}
		if m := headingRe.FindStringSubmatch(line); m != nil {
			closeBlock()
			r.w(`<div class="fc-h fc-h` + strconv.Itoa(len(m[1])) + `">`)
			text(m[2])
			r.w(`</div>`)
			continue
		}
		if m := bulletRe.FindStringSubmatch(line); m != nil {
			if open == bullets {
				r.w(`</li><li>`)
			} else {
				closeBlock()
				r.w(`<ul class="fc-ul"><li>`)
				open = bullets
			}
			text(m[1])
			continue
		}
		if m := orderedRe.FindStringSubmatch(line); m != nil {
			if open == numbers {
				r.w(`</li><li>`)
			} else {
				closeBlock()
				start, _ := strconv.Atoi(m[1])
				r.w(`<ol class="fc-ol" start="` + strconv.Itoa(start) + `"><li>`)
				open = numbers
			}
			text(m[2])
			continue
		}
		if m := quoteRe.FindStringSubmatch(line); m != nil {
			if open == quote {
				lineBreak()
			} else {
				closeBlock()
				r.w(`<div class="fc-quote">`)
				open = quote
			}
			text(m[1])
			continue
		}
		switch open {
		case paragraph, quote, bullets, numbers:
			// A line that starts no block continues the one open.
			lineBreak()
		default:
			r.w(`<div class="fc-p">`)
			open = paragraph
		}
		text(line)
	}
	closeBlock()
}

// indented says line starts with four spaces or a tab (as CommonMark counts
// them), the mark of an indented code block.
func indented(line string) bool {
	rest := strings.TrimLeft(line, " ")
	return len(line)-len(rest) >= 4 || strings.HasPrefix(rest, "\t")
}

// unindent drops the four columns that made line code.
func unindent(line string) string {
	for n := 0; n < 4 && line != ""; n++ {
		if line[0] == '\t' {
			return line[1:]
		}
		if line[0] != ' ' {
			break
		}
		line = line[1:]
	}
	return line
}

// special are the bytes where inline markup may start.
const special = "\\&<*_~`[h"

// closers finds closing delimiters in one line. Once a delimiter is missing
// from some point on, it is missing from every later point: remembering that
// keeps a line of many unmatched openers linear instead of quadratic.
type closers struct {
	s       string
	missing map[string]bool
}

// find is the index of the next delim in s at or after from, or -1.
// Backslash-escaped characters are skipped when escapes is set, a lone "*"
// or "_" closer must not be half of "**" or "__", and an "_" closer must not
// be followed by a letter or digit (snake_case stays as it is).
func (c *closers) find(from int, delim string, escapes bool) int {
	if c.missing[delim] {
		return -1
	}
	for j := from; j < len(c.s); j++ {
		switch {
		case escapes && c.s[j] == '\\':
			j++
		case strings.HasPrefix(c.s[j:], delim):
			after := j + len(delim)
			if (delim == "*" || delim == "_") && after < len(c.s) && c.s[after] == delim[0] {
				j++
				continue
			}
			if delim[0] == '_' && after < len(c.s) && isWordByte(c.s[after]) {
				continue
			}
			return j
		}
	}
	c.missing[delim] = true
	return -1
}

// inline writes one line's inline markup: escapes, entities, **bold**,
// __bold__, *italic*, _italic_, ~~strike~~, `code`, [links](url), bare
// http(s) URLs and Feishu's tags. Unmatched markup is shown as the characters
// it is made of.
func (r *renderer) inline(s string, depth int) {
	if depth > maxInlineDepth {
		r.esc(s)
		return
	}
	cl := closers{s: s, missing: map[string]bool{}}
	// wrap writes s[i+len(open):j] inside open and close HTML when the
	// delimiter delim closes at j, and returns the index after it; else it
	// writes delim as text.
	wrap := func(i int, delim, open, close string) int {
		j := cl.find(i+len(delim), delim, true)
		if j <= i+len(delim) {
			r.esc(delim)
			return i + len(delim)
		}
		r.w(open)
		r.inline(s[i+len(delim):j], depth+1)
		r.w(close)
		return j + len(delim)
	}
	for i := 0; i < len(s); {
		n := strings.IndexAny(s[i:], special)
		if n < 0 {
			r.esc(s[i:])
			return
		}
		r.esc(s[i : i+n])
		i += n
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			r.esc(s[i+1 : i+2])
			i += 2
		case c == '&':
			if m := entityRe.FindString(s[i:]); m != "" {
				r.esc(html.UnescapeString(m))
				i += len(m)
			} else if m := legacyRe.FindString(s[i:]); m != "" && html.UnescapeString(m) != m {
				r.esc(html.UnescapeString(m))
				i += len(m)
			} else {
				r.w("&amp;")
				i++
			}
		case c == '<':
			i = r.htmlTag(&cl, i, depth)
		case strings.HasPrefix(s[i:], "**"):
			i = wrap(i, "**", "<strong>", "</strong>")
		case c == '_' && i > 0 && isWordByte(s[i-1]):
			// An "_" inside a word opens nothing.
			r.esc("_")
			i++
		case strings.HasPrefix(s[i:], "__"):
			i = wrap(i, "__", "<strong>", "</strong>")
		case strings.HasPrefix(s[i:], "~~"):
			i = wrap(i, "~~", "<del>", "</del>")
		case c == '*':
			i = wrap(i, "*", "<em>", "</em>")
		case c == '_':
			i = wrap(i, "_", "<em>", "</em>")
		case c == '`':
			if j := cl.find(i+1, "`", false); j > i+1 {
				r.w(`<code class="fc-inline-code">`)
				r.esc(s[i+1 : j])
				r.w("</code>")
				i = j + 1
			} else {
				r.esc("`")
				i++
			}
		case c == '[':
			i = r.link(&cl, i, depth)
		case c == 'h' && (i == 0 || !isWordByte(s[i-1])) && (strings.HasPrefix(s[i:], "http://") || strings.HasPrefix(s[i:], "https://")):
			u := bareURL(s[i:])
			r.anchor(u, func() { r.esc(u) })
			i += len(u)
		default:
			r.esc(s[i : i+1])
			i++
		}
	}
}

// link writes the "[text](url)" at s[i] and returns the index after it; when
// none starts there, it writes the "[" alone.
func (r *renderer) link(cl *closers, i, depth int) int {
	mid := cl.find(i+1, "](", true)
	if mid < 0 {
		r.esc("[")
		return i + 1
	}
	end := cl.find(mid+2, ")", true)
	if end < 0 {
		r.esc("[")
		return i + 1
	}
	label := cl.s[i+1 : mid]
	r.anchor(html.UnescapeString(unescapeMarkdown(cl.s[mid+2:end])), func() { r.inline(label, depth+1) })
	return end + 1
}

// anchor writes a link to u around what label writes, or label alone when u
// is not an http(s) URL, so a javascript: link becomes plain text.
func (r *renderer) anchor(u string, label func()) {
	safe, ok := safeURL(u)
	if !ok {
		label()
		return
	}
	r.w(`<a class="fc-link" href="`)
	r.esc(safe)
	r.w(`" target="_blank" rel="noopener noreferrer">`)
	label()
	r.w(`</a>`)
}

// bareURL is the URL at the start of s: up to a space, a quote or markup,
// without trailing punctuation.
func bareURL(s string) string {
	end := strings.IndexFunc(s, func(c rune) bool {
		return c <= ' ' || c > '~' || strings.ContainsRune(`<>"'\()[]`, c)
	})
	if end < 0 {
		end = len(s)
	}
	return strings.TrimRight(s[:end], ".,;:!?*~")
}

// htmlTag writes the Feishu tag at s[i] and returns the index after it. A tag
// it does not know, or one left unclosed, is shown as text.
func (r *renderer) htmlTag(cl *closers, i, depth int) int {
	s := cl.s
	m := tagRe.FindStringSubmatch(s[i:])
	if m == nil || m[1] == "/" {
		r.esc("<")
		return i + 1
	}
	name, attrs, start := strings.ToLower(m[2]), parseAttrs(m[3]), i+len(m[0])
	// inner finds the tag's content and the index after its closing tag.
	inner := func() (string, int, bool) {
		end := cl.find(start, "</"+m[2]+">", false)
		if end < 0 {
			return "", start, false
		}
		return s[start:end], end + len(m[2]) + 3, true
	}
	switch name {
	case "br":
		r.w("<br>")
		return start
	case "hr":
		r.w(`<hr class="fc-hr">`)
		return start
	case "at":
		// What an <at> holds is not shown; the mention comes from its
		// attributes alone.
		_, next, _ := inner()
		r.mentions(attrs)
		return next
	case "person":
		_, next, _ := inner()
		r.person(attrs["id"], look{avatar: attrs["show_avatar"] != "false", name: attrs["show_name"] != "false", size: "small"})
		return next
	case "font", "text_tag", "a", "link":
		content, next, ok := inner()
		if !ok {
			break
		}
		switch name {
		case "font":
			r.w(`<span class="fc-font` + colorClass(attrs["color"]) + `">`)
			r.inline(content, depth+1)
			r.w(`</span>`)
		case "text_tag":
			r.w(`<span class="fc-tag` + colorClass(attrs["color"]) + `">`)
			r.inline(content, depth+1)
			r.w(`</span>`)
		case "a":
			r.anchor(attrs["href"], func() { r.inline(content, depth+1) })
		case "link":
			r.anchor(attrs["url"], func() { r.inline(content, depth+1) })
		}
		return next
	}
	r.esc("<")
	return i + 1
}

// mentions writes an <at>: one @name per id, or @all.
func (r *renderer) mentions(attrs map[string]string) {
	var ids []string
	switch {
	case attrs["id"] != "":
		ids = []string{attrs["id"]}
	case attrs["ids"] != "":
		ids = strings.Split(attrs["ids"], ",")
	case attrs["email"] != "":
		ids = []string{attrs["email"]}
	}
	for k, id := range ids {
		if k > 0 {
			r.w(" ")
		}
		id = strings.TrimSpace(id)
		name := id
		switch {
		case id == "all":
			name = "all"
		case r.opts.Person != nil && r.opts.Person(id) != "":
			name = r.opts.Person(id)
		default:
			name = shortID(id)
		}
		r.w(`<span class="fc-at" data-open-id="`)
		r.esc(id)
		r.w(`">@`)
		r.esc(name)
		r.w(`</span>`)
	}
}

// fontColors are the colours <font> and <text_tag> accept by name.
var fontColors = append([]string{"default"}, colors...)

// colorClass is the class of a named colour, or nothing for any other value
// (Feishu also takes RGBA, which the console shows in the default colour).
func colorClass(c string) string {
	if slices.Contains(fontColors, c) {
		return " fc-color-" + c
	}
	return ""
}

// parseAttrs reads a tag's attributes, quoted or not.
func parseAttrs(s string) map[string]string {
	attrs := map[string]string{}
	for _, m := range attrRe.FindAllStringSubmatch(s, -1) {
		attrs[strings.ToLower(m[1])] = m[2] + m[3] + m[4]
	}
	return attrs
}

// unescapeMarkdown drops the backslashes of markdown escapes.
func unescapeMarkdown(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
