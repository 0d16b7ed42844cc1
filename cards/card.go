// Package cards builds every message card the bot sends, in Feishu card JSON 2.0,
// in Chinese (zh_cn) or English (en_us).
//
// Card JSON 2.0 rejects attributes it does not know, so the types below carry only
// documented fields, and every optional one is omitted when empty. A card is data:
// it is marshalled as the message content, or handed to the SDK as the new card of
// a callback answer.
package cards

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Card is one card JSON 2.0 document.
type Card struct {
	Schema string  `json:"schema"` // always "2.0"
	Config Config  `json:"config"`
	Header *Header `json:"header,omitempty"`
	Body   Body    `json:"body"`
}

// JSON is the card as message content (sent as a string) or callback card data.
// HTML characters stay unescaped: markdown tags such as <font> are part of the
// format, and \u003c would only cost bytes against Feishu's 30 KB limit.
func (c Card) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("marshal card: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Config is the card's global behaviour.
type Config struct {
	// UpdateMulti makes the card shared, so a PATCH is seen by everyone. Card JSON
	// 2.0 only supports shared cards, and says so explicitly here.
	UpdateMulti bool     `json:"update_multi"`
	Summary     *Summary `json:"summary,omitempty"`
}

// Summary is the text shown for the card in the chat list.
type Summary struct {
	Content string `json:"content"`
}

// Header is the card's title bar.
type Header struct {
	Title       Text      `json:"title"`
	Subtitle    *Text     `json:"subtitle,omitempty"`
	Template    string    `json:"template,omitempty"` // colour: blue, green, orange, red, grey...
	TextTagList []TextTag `json:"text_tag_list,omitempty"`
}

// Text is a text object inside a component (a title, a button label).
type Text struct {
	Tag     string `json:"tag"` // "plain_text"
	Content string `json:"content"`
}

// TextTag is a small coloured label at the end of the header title.
type TextTag struct {
	Tag   string `json:"tag"` // "text_tag"
	Text  Text   `json:"text"`
	Color string `json:"color"`
}

// Body holds the card's components, top to bottom.
type Body struct {
	Elements []Element `json:"elements"`
}

// Element is a card component. Only the types of this package are elements.
type Element interface {
	element()
}

// Markdown is the rich text component.
type Markdown struct {
	Tag       string `json:"tag"` // "markdown"
	Content   string `json:"content"`
	TextAlign string `json:"text_align,omitempty"`
	TextSize  string `json:"text_size,omitempty"`
}

// Hr is a divider line.
type Hr struct {
	Tag string `json:"tag"` // "hr"
}

// UserProfile is the "person" component: one person's avatar and name, which
// Feishu resolves from the id.
type UserProfile struct {
	Tag        string `json:"tag"` // "person"
	UserID     string `json:"user_id"`
	Size       string `json:"size,omitempty"`
	ShowAvatar bool   `json:"show_avatar"`
	ShowName   bool   `json:"show_name"`
}

// PersonList shows several people.
type PersonList struct {
	Tag        string     `json:"tag"` // "person_list"
	Persons    []PersonID `json:"persons"`
	Size       string     `json:"size,omitempty"`
	ShowAvatar bool       `json:"show_avatar"`
	ShowName   bool       `json:"show_name"`
	// DropInvalidUserID keeps one unknown id (someone who left the company) from
	// failing the whole message.
	DropInvalidUserID bool `json:"drop_invalid_user_id"`
}

// PersonID is one entry of a PersonList.
type PersonID struct {
	ID string `json:"id"`
}

// Table is the table component. Feishu pages through its rows by itself,
// PageSize rows at a time, but every row travels inside the card.
type Table struct {
	Tag      string        `json:"tag"` // "table"
	PageSize int           `json:"page_size,omitempty"`
	Columns  []TableColumn `json:"columns"`
	// Rows is a slice of structs whose JSON keys are the column names.
	Rows any `json:"rows"`
}

// TableColumn declares one table column.
type TableColumn struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	DataType    string `json:"data_type"` // text, persons, options, number...
}

// OptionTag is one coloured tag in an "options" table cell.
type OptionTag struct {
	Text  string `json:"text"`
	Color string `json:"color"`
}

// Button is a button; its behaviours say what a click does.
type Button struct {
	Tag       string     `json:"tag"` // "button"
	Text      Text       `json:"text"`
	Type      string     `json:"type,omitempty"` // default, primary, danger...
	Behaviors []Behavior `json:"behaviors,omitempty"`
}

// Behavior is what a button does: "callback" sends Value to the bot.
type Behavior struct {
	Type  string `json:"type"`
	Value any    `json:"value,omitempty"`
}

// ColumnSet lays columns out side by side.
type ColumnSet struct {
	Tag      string `json:"tag"`                 // "column_set"
	FlexMode string `json:"flex_mode,omitempty"` // "bisect": two columns a row

	Columns []Column `json:"columns"`
}

// Column is one column of a ColumnSet.
type Column struct {
	Tag      string    `json:"tag"`   // "column"
	Width    string    `json:"width"` // auto, weighted, or "Npx"
	Weight   int       `json:"weight,omitempty"`
	Elements []Element `json:"elements"`
}

// Chart is the chart component; Spec is a VChart spec.
type Chart struct {
	Tag         string `json:"tag"` // "chart"
	AspectRatio string `json:"aspect_ratio,omitempty"`
	Spec        any    `json:"chart_spec"`
}

func (Markdown) element()    {}
func (Hr) element()          {}
func (UserProfile) element() {}
func (PersonList) element()  {}
func (Table) element()       {}
func (Button) element()      {}
func (ColumnSet) element()   {}
func (Chart) element()       {}

// newCard is the frame every card shares: schema 2.0, shared, a chat-list
// summary and a coloured title.
func newCard(title, template, summary string, elements ...Element) Card {
	return Card{
		Schema: "2.0",
		Config: Config{UpdateMulti: true, Summary: &Summary{Content: summary}},
		Header: &Header{Title: plain(title), Template: template},
		Body:   Body{Elements: elements},
	}
}

func plain(s string) Text { return Text{Tag: "plain_text", Content: s} }

func md(content string) Markdown { return Markdown{Tag: "markdown", Content: content} }

// br breaks a line inside a markdown component. A single "\n" there is only a
// soft break, which the rich text page says a renderer may ignore; <br> is the
// line break it documents.
const br = "<br>"

// note is small print at the bottom of a card.
func note(content string) Markdown {
	return Markdown{Tag: "markdown", Content: content, TextSize: "notation"}
}

func textTag(s, color string) TextTag {
	return TextTag{Tag: "text_tag", Text: plain(s), Color: color}
}

func callbackButton(label, kind string, value any) Button {
	return Button{
		Tag:       "button",
		Text:      plain(label),
		Type:      kind,
		Behaviors: []Behavior{{Type: "callback", Value: value}},
	}
}

// buttonRow puts buttons side by side, each as wide as its label.
func buttonRow(buttons ...Button) ColumnSet {
	cols := make([]Column, len(buttons))
	for i, b := range buttons {
		cols[i] = Column{Tag: "column", Width: "auto", Elements: []Element{b}}
	}
	return ColumnSet{Tag: "column_set", Columns: cols}
}
