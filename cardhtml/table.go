package cardhtml

import (
	"encoding/json"
	"strconv"
	"time"
)

// table writes the table component. Every row is written; the box shows
// page_size rows (Feishu's page) and scrolls to the rest.
func (r *renderer) table(el map[string]any) {
	pageSize := 5
	if n, err := strconv.Atoi(str(el["page_size"])); err == nil && n >= 1 && n <= 10 {
		pageSize = n
	}
	cols, _ := el["columns"].([]any)
	rows, ok := el["rows"].([]any)
	if !ok && el["rows"] != nil {
		r.notice("table rows are a JSON " + kind(el["rows"]) + ", not an array")
	}
	r.w(`<div class="fc-table-box" style="--fc-page-rows:` + strconv.Itoa(pageSize) + `"><table class="fc-table"><thead><tr>`)
	for _, c := range cols {
		head := str(field(c, "display_name"))
		if head == "" {
			head = str(field(c, "name"))
		}
		r.w(`<th>`)
		r.esc(head)
		r.w(`</th>`)
	}
	r.w("</tr></thead><tbody>\n")
	for _, row := range rows {
		r.w(`<tr class="fc-row">`)
		for _, c := range cols {
			r.cell(str(field(c, "data_type")), field(row, str(field(c, "name"))))
		}
		r.w("</tr>\n")
	}
	r.w(`</tbody></table></div>`)
}

// cell writes one table cell as its column's data_type says.
func (r *renderer) cell(dataType string, v any) {
	switch dataType {
	case "markdown", "lark_md":
		r.w(`<td class="fc-cell-markdown">`)
		r.markdown(str(v))
	case "number":
		r.w(`<td class="fc-cell-number">`)
		r.esc(str(v))
	case "persons":
		r.w(`<td class="fc-cell-persons">`)
		ids, ok := v.([]any)
		if !ok {
			ids = []any{v}
		}
		for _, id := range ids {
			if s := str(id); s != "" {
				r.person(s, look{avatar: true, name: true, size: "small"})
			} else if s := str(field(id, "id")); s != "" {
				r.person(s, look{avatar: true, name: true, size: "small"})
			}
		}
	case "options":
		r.w(`<td class="fc-cell-options">`)
		opts, ok := v.([]any)
		if !ok {
			opts = []any{v}
		}
		for _, o := range opts {
			if o, ok := o.(map[string]any); ok {
				r.tag(str(o["text"]), str(o["color"]))
			}
		}
	case "date":
		r.w(`<td class="fc-cell-date">`)
		if n, ok := v.(json.Number); ok {
			if ms, err := n.Int64(); err == nil {
				r.esc(time.UnixMilli(ms).UTC().Format("2006-01-02 15:04 UTC"))
				break
			}
		}
		r.esc(str(v))
	default:
		r.w(`<td class="fc-cell-text">`)
		r.lines(str(v))
	}
	r.w(`</td>`)
}
