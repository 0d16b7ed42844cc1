package inbox

import (
	"time"
)

// The kinds of work the ways in record. They name what Feishu brought, not what the
// bot does about it: the runner decides that.
const (
	// KindMessage is a chat message waiting for its answer.
	KindMessage = "message"
	// KindBotRemoved is the bot's removal from a chat.
	KindBotRemoved = "bot_removed"
	// KindRemind is a round of reminders an admin confirmed on a card.
	KindRemind = "remind"
	// KindWelcome is the bot added to a group, or a person opening a direct chat with it.
	KindWelcome = "welcome"
	// KindMenu is a click on the bot's menu.
	KindMenu = "menu"
	// KindPage is a click on a list's Prev/Next in a group: the page comes as a new
	// card, as the list card itself is the same for everyone in the chat.
	KindPage = "page"
	// KindUserUpdated is an ACS user's face photo or card changing; it is run at once,
	// as it comes, not queued.
	KindUserUpdated = "acs.user.updated_v1"
	// KindAccessRecord is a door record a device made; it is stored at once, as it
	// comes, not queued.
	KindAccessRecord = "acs.access_record.created_v1"
)

// Job is what the inbox records before Feishu gets its answer: only the fields the
// work needs, so a resumed job does not depend on the SDK's event types.
type Job struct {
	Key string `json:"key"`
	// Kind is one of the kinds above. Payloads recorded before there were kinds
	// lack it; the inbox takes it from the record, which always had it.
	Kind       string            `json:"kind,omitempty"`
	MessageID  string            `json:"message_id"`
	ChatID     string            `json:"chat_id"`
	ChatType   string            `json:"chat_type"`
	Sender     IDs               `json:"sender"`
	MsgType    string            `json:"msg_type"`
	Text       string            `json:"text"`
	Mentions   []Mention         `json:"mentions,omitempty"`
	ReceivedAt time.Time         `json:"received_at"`
	Extra      map[string]string `json:"extra,omitempty"`
}

// IDs are one person's ids in the three id types Feishu knows.
type IDs struct {
	OpenID  string `json:"open_id,omitempty"`
	UnionID string `json:"union_id,omitempty"`
	UserID  string `json:"user_id,omitempty"`
}

// Of returns the id of the given id type (acs.user_id_type).
func (i IDs) Of(idType string) string {
	switch idType {
	case "union_id":
		return i.UnionID
	case "user_id":
		return i.UserID
	default:
		return i.OpenID
	}
}

// Mention is one @-mention in a message.
type Mention struct {
	Key  string `json:"key"`
	IDs  IDs    `json:"ids"`
	Name string `json:"name,omitempty"`
}

// Click is a card button click as the ways in bring it. Feishu waits at most 3 s
// for its answer and never sends it again, so it is answered at once, not recorded.
type Click struct {
	Operator  IDs
	ChatID    string // "" when Feishu did not say
	MessageID string // the card's message
	Value     map[string]any
}

// Answer is what a click gets back: a toast, a card shown in place of the clicked
// one, or both.
type Answer struct {
	Toast *Toast
	// Card is the new card's JSON 2.0 object.
	Card any
}

// Toast is a short message Feishu shows the clicker.
type Toast struct {
	Type    string // info, success, warning or error
	Content string
	I18n    map[string]string // by locale, e.g. zh_cn, en_us
}
