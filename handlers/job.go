package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"acsbot/command"
)

// The kinds of recorded work, as the inbox stores them.
const (
	// jobMessage is a chat message waiting for its answer.
	jobMessage = "message"
	// jobBotRemoved is the bot's removal from a chat: its subscription goes.
	jobBotRemoved = "bot_removed"
	// jobRemind is a round of reminders an admin confirmed.
	jobRemind = "remind"
	// jobWelcome greets a group that added the bot, or a person who opened a
	// direct chat with it.
	jobWelcome = "welcome"
	// jobMenu is a click on the bot's menu, answered by direct message.
	jobMenu = "menu"
)

// job is what the webhook records in the inbox before it answers Feishu: only the
// fields the work needs, so a resumed job does not depend on the SDK's event types.
type job struct {
	Key string `json:"key"`
	// Kind is one of the job kinds. Payloads recorded before there were kinds
	// lack it; resumePending takes it from the inbox record, which always had it.
	Kind       string            `json:"kind,omitempty"`
	MessageID  string            `json:"message_id"`
	ChatID     string            `json:"chat_id"`
	ChatType   string            `json:"chat_type"`
	Sender     ids               `json:"sender"`
	MsgType    string            `json:"msg_type"`
	Text       string            `json:"text"`
	Mentions   []mention         `json:"mentions,omitempty"`
	ReceivedAt time.Time         `json:"received_at"`
	Extra      map[string]string `json:"extra,omitempty"`
}

// ids are one person's ids in the three id types Feishu knows.
type ids struct {
	OpenID  string `json:"open_id,omitempty"`
	UnionID string `json:"union_id,omitempty"`
	UserID  string `json:"user_id,omitempty"`
}

// of returns the id of the given id type (acs.user_id_type).
func (i ids) of(idType string) string {
	switch idType {
	case "union_id":
		return i.UnionID
	case "user_id":
		return i.UserID
	default:
		return i.OpenID
	}
}

type mention struct {
	Key  string `json:"key"`
	IDs  ids    `json:"ids"`
	Name string `json:"name,omitempty"`
}

var errMalformed = errors.New("malformed event")

func idsOf(u *larkim.UserId) ids {
	if u == nil {
		return ids{}
	}
	return ids{
		OpenID:  larkcore.StringValue(u.OpenId),
		UnionID: larkcore.StringValue(u.UnionId),
		UserID:  larkcore.StringValue(u.UserId),
	}
}

// jobFromMessage turns an im.message.receive_v1 event into a job. Every pointer in the
// SDK's event may be nil, so nothing is dereferenced unchecked.
func jobFromMessage(ev *larkim.P2MessageReceiveV1, now time.Time) (job, error) {
	if ev == nil || ev.Event == nil || ev.Event.Message == nil || ev.Event.Sender == nil {
		return job{}, fmt.Errorf("%w: no message or sender", errMalformed)
	}
	m := ev.Event.Message
	j := job{
		Kind:       jobMessage,
		MessageID:  larkcore.StringValue(m.MessageId),
		ChatID:     larkcore.StringValue(m.ChatId),
		ChatType:   larkcore.StringValue(m.ChatType),
		Sender:     idsOf(ev.Event.Sender.SenderId),
		MsgType:    larkcore.StringValue(m.MessageType),
		ReceivedAt: now,
	}
	if j.MessageID == "" || j.ChatID == "" || j.Sender.OpenID == "" {
		return job{}, fmt.Errorf("%w: message_id, chat_id and sender open_id are required", errMalformed)
	}
	j.Key = j.MessageID
	if j.MsgType == "text" {
		var c struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(larkcore.StringValue(m.Content)), &c); err != nil {
			return job{}, fmt.Errorf("%w: text content: %v", errMalformed, err)
		}
		j.Text = c.Text
	}
	for _, mt := range m.Mentions {
		if mt == nil {
			continue
		}
		j.Mentions = append(j.Mentions, mention{
			Key:  larkcore.StringValue(mt.Key),
			IDs:  idsOf(mt.Id),
			Name: larkcore.StringValue(mt.Name),
		})
	}
	return j, nil
}

// commandMentions converts the job's mentions for the parser, which knows people by
// open id.
func (j job) commandMentions() []command.Mention {
	out := make([]command.Mention, 0, len(j.Mentions))
	for _, m := range j.Mentions {
		out = append(out, command.Mention{Key: m.Key, OpenID: m.IDs.OpenID, Name: m.Name})
	}
	return out
}

// mentionsBot reports whether the bot is among the job's mentions.
func (j job) mentionsBot(botOpenID string) bool {
	for _, m := range j.Mentions {
		if m.IDs.OpenID == botOpenID {
			return true
		}
	}
	return false
}

// idOfMentioned maps an @-mentioned person's open id to the directory's id type.
func (j job) idOfMentioned(openID, idType string) string {
	for _, m := range j.Mentions {
		if m.IDs.OpenID == openID {
			if id := m.IDs.of(idType); id != "" {
				return id
			}
		}
	}
	return ""
}
