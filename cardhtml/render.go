// Package cardhtml renders Feishu card JSON 2.0, as the bot sends it, into a safe
// HTML fragment that looks like the card in a Feishu client. The demo console
// shows the bot's answers with it; nothing here talks to Feishu.
//
// Every string taken from a card is escaped, the markdown converter emits only
// tags it generates itself, and links are kept only for http and https URLs, so
// a card that echoes hostile user input renders inert.
//
// The fragment's contract with the console script:
//
//   - The card is one <div class="fc-card" data-summary="..."> where data-summary
//     is config.summary.content (the chat-list text), when the card has one.
//   - A button with a "callback" behaviour is a <button type="button"
//     class="fc-button ..."> whose data-callback attribute holds the behaviour's
//     value as JSON (HTML-escaped in the attribute, so getAttribute returns the
//     JSON itself). The script sends a card.action.trigger callback with
//     exactly that value as action.value, and the button's name, from the
//     data-name attribute when present, as action.name.
//   - A disabled button ("disabled": true) carries the disabled attribute.
//   - A button with an "open_url" behaviour is an <a class="fc-button ...">
//     with href, target="_blank" and rel="noopener noreferrer".
//   - People are <span class="fc-person" data-open-id="...">.
//   - A component the renderer does not know is a <div class="fc-notice"> that
//     names its tag, so nothing the bot sends is silently dropped.
//
// CSS returns the stylesheet for the fragment; every rule is scoped under
// .fc-card.
package cardhtml

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"slices"
	"strconv"
	"strings"
)

// Options says how to show what the card only refers to.
type Options struct {
	// Person returns the display name of an open id ("" when unknown: show the id
	// shortened). The demo gives generated names for its fake directory.
	Person func(openID string) string
}

// maxDepth bounds how deep containers may nest; Feishu itself allows far
// fewer levels, and a hostile card must not exhaust the stack.
const maxDepth = 16

// Render turns one card (the JSON the bot sends as an interactive message's content)
// into an HTML fragment. It never fails on a component it does not know: it renders a
// visible notice naming the tag ("component <tag> is not rendered by this console").
// It returns an error only when the input is not a JSON object.
func Render(card []byte, o Options) (template.HTML, error) {
	dec := json.NewDecoder(bytes.NewReader(card))
	// Numbers stay as written, so a callback value goes back byte for byte.
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return "", fmt.Errorf("card is not JSON: %w", err)
	}
	if dec.More() {
		return "", fmt.Errorf("card has data after its JSON object")
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return "", fmt.Errorf("card is a JSON %s, not an object", kind(doc))
	}
	r := renderer{opts: o}
	r.card(obj)
	return template.HTML(r.b.String()), nil //nolint:gosec // everything written is escaped or generated here
}

// renderer writes one card's HTML.
type renderer struct {
	b    strings.Builder
	opts Options
}

// esc writes s as HTML text or attribute content.
func (r *renderer) esc(s string) { r.b.WriteString(html.EscapeString(s)) }

func (r *renderer) w(s string) { r.b.WriteString(s) }

// notice writes a visible remark about something the card holds but the
// console does not show as Feishu would.
func (r *renderer) notice(msg string) {
	r.w(`<div class="fc-notice">`)
	r.esc(msg)
	r.w(`</div>`)
}

func (r *renderer) card(doc map[string]any) {
	r.w(`<div class="fc-card"`)
	if cfg, ok := doc["config"].(map[string]any); ok {
		if sum := text(field(cfg, "summary")); sum != "" {
			r.w(` data-summary="`)
			r.esc(sum)
			r.w(`"`)
		}
	}
	r.w(`>`)
	r.w("\n")
	if h, ok := doc["header"].(map[string]any); ok {
		r.header(h)
	} else if doc["header"] != nil {
		r.notice("header is not an object")
	}
	r.w(`<div class="fc-body">` + "\n")
	if s, ok := doc["schema"].(string); !ok || s != "2.0" {
		r.notice(fmt.Sprintf("schema is %s, not \"2.0\": this console renders card JSON 2.0", describe(doc["schema"])))
	}
	if cfg, ok := doc["config"].(map[string]any); ok && cfg["update_multi"] == false {
		r.notice("config.update_multi is false: card JSON 2.0 cards are always shared")
	}
	body, _ := doc["body"].(map[string]any)
	switch els := field(body, "elements").(type) {
	case []any:
		r.elements(els, 0)
	case nil:
		r.notice("card has no body.elements")
	default:
		r.notice(fmt.Sprintf("body.elements is a JSON %s, not an array", kind(els)))
	}
	r.w("</div>\n</div>\n")
}

// templates are the header colours Feishu documents; anything else is shown
// as the default (blue in the client).
var templates = []string{"blue", "wathet", "turquoise", "green", "yellow", "orange", "red", "carmine", "violet", "purple", "indigo", "grey", "default"}

func (r *renderer) header(h map[string]any) {
	tpl, _ := h["template"].(string)
	if !slices.Contains(templates, tpl) {
		tpl = "default"
	}
	r.w(`<div class="fc-header fc-tpl-` + tpl + `"><div class="fc-title">`)
	r.esc(text(h["title"]))
	if tags, ok := h["text_tag_list"].([]any); ok {
		for _, t := range tags {
			if t, ok := t.(map[string]any); ok {
				r.w(" ")
				r.tag(text(t["text"]), str(t["color"]))
			}
		}
	}
	r.w(`</div>`)
	if sub := text(h["subtitle"]); sub != "" {
		r.w(`<div class="fc-subtitle">`)
		r.esc(sub)
		r.w(`</div>`)
	}
	r.w(`</div>`)
}

// colors are the colours of text tags and option cells.
var colors = []string{"neutral", "blue", "turquoise", "lime", "orange", "violet", "indigo", "wathet", "green", "yellow", "red", "purple", "carmine", "grey"}

// tag writes a small coloured label.
func (r *renderer) tag(label, color string) {
	if !slices.Contains(colors, color) {
		color = "neutral"
	}
	r.w(`<span class="fc-tag fc-color-` + color + `">`)
	r.esc(label)
	r.w(`</span>`)
}

func (r *renderer) elements(els []any, depth int) {
	for _, e := range els {
		r.element(e, depth)
	}
}

// element writes one component on a line of its own, which keeps golden
// files readable.
func (r *renderer) element(e any, depth int) {
	defer r.w("\n")
	el, ok := e.(map[string]any)
	if !ok {
		r.notice(fmt.Sprintf("a component is a JSON %s, not an object", kind(e)))
		return
	}
	if depth > maxDepth {
		r.notice("components nest too deep to render")
		return
	}
	tag, _ := el["tag"].(string)
	switch tag {
	case "markdown", "lark_md":
		r.w(`<div class="fc-md` + alignClass(el) + sizeClass(el) + `">`)
		r.markdown(str(el["content"]))
		r.w(`</div>`)
	case "plain_text", "div":
		r.w(`<div class="fc-text` + alignClass(el) + sizeClass(el) + `">`)
		content := str(el["content"])
		if tag == "div" {
			content = text(el["text"])
		}
		r.lines(content)
		r.w(`</div>`)
	case "hr":
		r.w(`<hr class="fc-hr">`)
	case "column_set":
		r.columnSet(el, depth)
	case "table":
		r.table(el)
	case "person":
		r.w(`<div class="fc-person-row">`)
		r.person(str(el["user_id"]), personLook(el))
		r.w(`</div>`)
	case "person_list":
		r.w(`<div class="fc-person-list">`)
		look := personLook(el)
		if ps, ok := el["persons"].([]any); ok {
			for _, p := range ps {
				if p, ok := p.(map[string]any); ok {
					r.person(str(p["id"]), look)
				}
			}
		}
		r.w(`</div>`)
	case "chart":
		r.chart(el)
	case "button":
		r.w(`<div class="fc-actions">`)
		r.button(el)
		r.w(`</div>`)
	case "":
		r.notice("a component has no tag")
	default:
		r.notice("component " + tag + " is not rendered by this console")
	}
}

// lines writes plain text, keeping its line breaks.
func (r *renderer) lines(s string) {
	for i, line := range splitLines(s) {
		if i > 0 {
			r.w("<br>")
		}
		r.esc(line)
	}
}

// splitLines cuts s at its line endings: LF, CR LF or a lone CR, as
// CommonMark counts them. A CR left in a line would reach the page as a
// second line break.
func splitLines(s string) []string {
	return strings.Split(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"), "\n")
}

func alignClass(el map[string]any) string {
	switch el["text_align"] {
	case "center":
		return " fc-align-center"
	case "right":
		return " fc-align-right"
	}
	return ""
}

func sizeClass(el map[string]any) string {
	switch s := str(el["text_size"]); s {
	case "heading-0", "heading-1", "heading-2", "heading-3", "heading-4", "heading", "normal", "notation",
		"xxxx-large", "xxx-large", "xx-large", "x-large", "large", "medium", "small", "x-small":
		return " fc-size-" + s
	}
	return ""
}

func (r *renderer) columnSet(el map[string]any, depth int) {
	cls := "fc-columns"
	if m := str(el["flex_mode"]); slices.Contains([]string{"none", "stretch", "flow", "bisect", "trisect"}, m) {
		cls += " fc-flex-" + m
	}
	r.w(`<div class="` + cls + `">`)
	cols, _ := el["columns"].([]any)
	for _, c := range cols {
		col, ok := c.(map[string]any)
		if !ok || col["tag"] != "column" {
			r.notice("a column_set holds something other than a column")
			continue
		}
		r.w(`<div class="fc-column"` + columnStyle(col) + `>`)
		if els, ok := col["elements"].([]any); ok {
			r.elements(els, depth+1)
		}
		r.w(`</div>`)
	}
	r.w(`</div>`)
}

// columnStyle sizes a column as Feishu does: "auto" fits its content, a
// weighted column takes its share (weight 1-5) of what is left, "Npx" is fixed.
// Only numbers parsed here reach the style attribute.
func columnStyle(col map[string]any) string {
	width := str(col["width"])
	switch {
	case width == "auto":
		return ` style="flex:0 0 auto"`
	case strings.HasSuffix(width, "px"):
		if n, err := strconv.Atoi(strings.TrimSuffix(width, "px")); err == nil && n >= 16 && n <= 600 {
			return fmt.Sprintf(` style="flex:0 0 %dpx"`, n)
		}
	}
	weight := 1
	if n, err := strconv.Atoi(str(col["weight"])); err == nil && n >= 1 && n <= 5 {
		weight = n
	}
	return fmt.Sprintf(` style="flex:%d 1 0"`, weight)
}

// buttonTypes are the documented button styles.
var buttonTypes = []string{"default", "primary", "danger", "text", "primary_text", "danger_text", "primary_filled", "danger_filled", "laser"}

func (r *renderer) button(el map[string]any) {
	typ := str(el["type"])
	if !slices.Contains(buttonTypes, typ) {
		typ = "default"
	}
	cls := "fc-button fc-button-" + typ
	label := text(el["text"])
	behaviors, _ := el["behaviors"].([]any)
	var callback, link any
	for _, b := range behaviors {
		b, _ := b.(map[string]any)
		switch b["type"] {
		case "callback":
			if callback == nil {
				callback = b["value"]
				if callback == nil {
					callback = map[string]any{}
				}
			}
		case "open_url":
			if link == nil {
				link = b["default_url"]
			}
		}
	}
	disabled := el["disabled"] == true
	if u, ok := safeURL(str(link)); ok && callback == nil && !disabled {
		r.w(`<a class="` + cls + `" href="`)
		r.esc(u)
		r.w(`" target="_blank" rel="noopener noreferrer">`)
		r.esc(label)
		r.w(`</a>`)
		return
	}
	r.w(`<button type="button" class="` + cls + `"`)
	if callback != nil {
		v, err := json.Marshal(callback)
		if err == nil {
			r.w(` data-callback="`)
			r.esc(string(v))
			r.w(`"`)
		}
	}
	if name := str(el["name"]); name != "" {
		r.w(` data-name="`)
		r.esc(name)
		r.w(`"`)
	}
	if disabled || callback == nil {
		r.w(` disabled`)
	}
	r.w(`>`)
	r.esc(label)
	r.w(`</button>`)
}

// safeURL returns u when it is an absolute http or https URL, the only links
// a card may carry into the page.
func safeURL(u string) (string, bool) {
	u = strings.TrimSpace(u)
	lower := strings.ToLower(u)
	if (strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://")) && !strings.ContainsAny(u, " \t\r\n\x00") {
		return u, true
	}
	return "", false
}

// field is m[k], or nil when m is not an object.
func field(m any, k string) any {
	o, _ := m.(map[string]any)
	return o[k]
}

// text is the content of a text object ({"tag":"plain_text","content":...}),
// or the value itself when a card gives a bare string.
func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return str(field(v, "content"))
}

// str is a scalar as text: strings as they are, numbers as written, other
// kinds "".
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// kind names a decoded JSON value's type for a notice or an error.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// describe shows a scalar for a notice: quoted when a string, else its kind.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return "a JSON " + kind(v)
}
