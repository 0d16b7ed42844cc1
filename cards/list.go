package cards

import (
	"fmt"
	"math"
	"strconv"

	"acsbot/acs"
	"acsbot/command"
)

// ListKind names a list of people the bot can page through.
type ListKind string

// The lists.
const (
	NoFace ListKind = "noface" // people without a face photo
	NoCard ListKind = "nocard" // people without an access card
)

// PageSize is how many people one card of a list holds, in a table Feishu pages
// through ten rows at a time on each reader's own client: a list this long is
// one card, which nobody can turn for the others in a group. It keeps a card
// well inside Feishu's 30 KB (about 120 bytes a person).
const PageSize = 150

// maxPage bounds a page number from a callback; no directory has more pages.
const maxPage = math.MaxInt32

// PageAction is what a Prev/Next button asks for. On the wire it is the button's
// callback value {"a":"page","q":"noface","p":2,"l":"en_us"}, kept short because it
// rides in every button of every list card.
type PageAction struct {
	Kind ListKind
	Page int // 1-based
	// Lang is the language of the card the button is on, so the next page keeps
	// it; "" for a button made before buttons carried it.
	Lang command.Lang
}

// pageValue is PageAction as the callback value carries it.
type pageValue struct {
	A string       `json:"a"`
	Q ListKind     `json:"q"`
	P int          `json:"p"`
	L command.Lang `json:"l,omitempty"`
}

func (p PageAction) value() pageValue { return pageValue{A: "page", Q: p.Kind, P: p.Page, L: p.Lang} }

// ParsePageAction reads a Prev/Next callback value. The page may arrive as a
// JSON number (float64), a string, or an int when built in process; anything
// else, an unknown list or a page below 1 is refused. A language the bot does not
// speak is dropped, not refused: the page still comes, in bot.language.
func ParsePageAction(value map[string]any) (PageAction, bool) {
	if a, _ := value["a"].(string); a != "page" {
		return PageAction{}, false
	}
	q, _ := value["q"].(string)
	kind := ListKind(q)
	if kind != NoFace && kind != NoCard {
		return PageAction{}, false
	}
	page, ok := pageNumber(value["p"])
	if !ok {
		return PageAction{}, false
	}
	lang, _ := value["l"].(string)
	if l := command.Lang(lang); l != command.EN && l != command.ZH {
		lang = ""
	}
	return PageAction{Kind: kind, Page: page, Lang: command.Lang(lang)}, true
}

func pageNumber(v any) (int, bool) {
	var n int64
	switch p := v.(type) {
	case float64:
		if p != math.Trunc(p) || p < 1 || p > maxPage {
			return 0, false
		}
		n = int64(p)
	case int:
		n = int64(p)
	case string:
		i, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return 0, false
		}
		n = i
	default:
		return 0, false
	}
	if n < 1 || n > maxPage {
		return 0, false
	}
	return int(n), true
}

// listText holds the words of one list kind.
type listText struct {
	title   func(n int) string
	page    func(page, pages int) string
	showing func(from, to, total int) string
	prev    string
	next    string
	// done is the title and text when nobody is on the list.
	doneTitle, doneText string
	template            string
}

func listStrings(lang command.Lang, kind ListKind) listText {
	zh := listText{
		page: func(p, n int) string { return fmt.Sprintf("第 %d / %d 页", p, n) },
		showing: func(from, to, total int) string {
			return fmt.Sprintf("第 %s–%s 人，共 %s 人", count(from), count(to), count(total))
		},
		prev: "上一页",
		next: "下一页",
	}
	en := listText{
		page: func(p, n int) string { return fmt.Sprintf("Page %d / %d", p, n) },
		showing: func(from, to, total int) string {
			return fmt.Sprintf("%s–%s of %s", count(from), count(to), count(total))
		},
		prev: "‹ Previous",
		next: "Next ›",
	}
	if kind == NoCard {
		zh.title = func(n int) string { return fmt.Sprintf("%s 人没有门禁卡", count(n)) }
		zh.doneTitle, zh.doneText = "所有人都有门禁卡 🎉", "门禁权限组里的每个人都已有门禁卡。"
		en.title = func(n int) string {
			return plural(n, "1 person without an access card", "%s people without an access card")
		}
		en.doneTitle, en.doneText = "Everyone has an access card 🎉", "Nobody in the access groups is missing an access card."
		zh.template, en.template = "yellow", "yellow"
	} else {
		zh.title = func(n int) string { return fmt.Sprintf("%s 人未录入人脸", count(n)) }
		zh.doneTitle, zh.doneText = "所有人都已录入人脸 🎉", "门禁权限组里的每个人都已录入人脸。"
		en.title = func(n int) string {
			return plural(n, "1 person without a face photo", "%s people without a face photo")
		}
		en.doneTitle, en.doneText = "Everyone has a face photo 🎉", "Nobody in the access groups is missing a face photo."
		zh.template, en.template = "orange", "orange"
	}
	return pick(lang, zh, en)
}

// List shows one page of a list: users is the whole list, in order, and page is
// 1-based (clamped to the pages there are). Each page is a table of PageSize
// people, with Prev/Next buttons only where they lead somewhere.
func List(v View, kind ListKind, users []acs.User, page int) Card {
	t := listStrings(v.Lang, kind)
	total := len(users)
	if total == 0 {
		c := newCard(t.doneTitle, "green", t.doneTitle, md(t.doneText))
		c.Body.Elements = append(c.Body.Elements, v.footer(false)...)
		return c
	}
	pages := (total + PageSize - 1) / PageSize
	page = min(max(page, 1), pages)
	from := (page - 1) * PageSize
	to := min(from+PageSize, total)
	shown := users[from:to]

	title := t.title(total)
	c := newCard(title, t.template, title,
		md(t.showing(from+1, to, total)),
		userTable(v, shown),
	)
	if pages > 1 {
		sub := plain(t.page(page, pages))
		c.Header.Subtitle = &sub
		var buttons []Button
		if page > 1 {
			buttons = append(buttons, callbackButton(t.prev, "default", PageAction{Kind: kind, Page: page - 1, Lang: v.Lang}.value()))
		}
		if page < pages {
			buttons = append(buttons, callbackButton(t.next, "primary", PageAction{Kind: kind, Page: page + 1, Lang: v.Lang}.value()))
		}
		c.Body.Elements = append(c.Body.Elements, buttonRow(buttons...))
	}
	c.Body.Elements = append(c.Body.Elements, v.footer(!v.ShowCardNumbers && anyCard(shown))...)
	return c
}

// userRow is one person in a user table.
type userRow struct {
	Person string      `json:"person"`
	Card   string      `json:"card"`
	Face   []OptionTag `json:"face"`
}

// userTable shows people with their card and face photo status. The person
// column lets Feishu render names, which the ACS API does not have.
func userTable(v View, users []acs.User) Table {
	t := viewStrings(v.Lang)
	rows := make([]userRow, len(users))
	for i, u := range users {
		face := OptionTag{Text: t.faceNo, Color: "red"}
		if u.FaceUploaded {
			face = OptionTag{Text: t.faceYes, Color: "green"}
		}
		rows[i] = userRow{Person: u.ID, Card: v.cardText(u.Card), Face: []OptionTag{face}}
	}
	return Table{
		Tag:      "table",
		PageSize: 10, // the most Feishu shows at once
		Columns: []TableColumn{
			{Name: "person", DisplayName: t.colPerson, DataType: "persons"},
			{Name: "card", DisplayName: t.colCard, DataType: "text"},
			{Name: "face", DisplayName: t.colFace, DataType: "options"},
		},
		Rows: rows,
	}
}

func anyCard(users []acs.User) bool {
	for _, u := range users {
		if u.HasCard() {
			return true
		}
	}
	return false
}
