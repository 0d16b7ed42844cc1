package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"
	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"
	larkapplication "github.com/larksuite/oapi-sdk-go/v3/service/application/v6"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"acsbot/inbox"
)

// Each handler below turns one kind of Feishu event into a job for the inbox, or a
// card click into a question for the core. Every pointer in the SDK's events may be
// nil, so nothing is dereferenced unchecked.

var errMalformed = errors.New("malformed event")

// onMessage records a chat message, to be answered.
func (s *Server) onMessage(ctx context.Context, ev *larkim.P2MessageReceiveV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base, ev.EventReq); err != nil {
		return err
	}
	j, err := jobFromMessage(ev, s.now())
	if err != nil {
		return s.refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("im.message.receive_v1").Inc()
	s.inbox.Accept(ctx, j)
	return nil
}

// onUserUpdated records an ACS user's change, which the core applies at once.
func (s *Server) onUserUpdated(ctx context.Context, ev *larkacs.P2UserUpdatedV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base, ev.EventReq); err != nil {
		return err
	}
	if ev.Event == nil || ev.EventV2Base.Header.EventID == "" {
		return s.refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("acs.user.updated_v1").Inc()
	j := inbox.Job{Kind: inbox.KindUserUpdated, Key: ev.EventV2Base.Header.EventID, ReceivedAt: s.now(), Extra: map[string]string{}}
	if u := ev.Event.UserId; u != nil {
		j.Sender = inbox.IDs{OpenID: deref(u.OpenId), UnionID: deref(u.UnionId), UserID: deref(u.UserId)}
	}
	if ev.Event.Card != nil {
		j.Extra["card"] = strconv.Itoa(*ev.Event.Card)
	}
	if ev.Event.FaceUploaded != nil {
		j.Extra["face_uploaded"] = strconv.FormatBool(*ev.Event.FaceUploaded)
	}
	s.inbox.Accept(ctx, j)
	return nil
}

// onBotRemoved records the bot's removal from a chat.
func (s *Server) onBotRemoved(ctx context.Context, ev *larkim.P2ChatMemberBotDeletedV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base, ev.EventReq); err != nil {
		return err
	}
	if ev.Event == nil || ev.EventV2Base.Header.EventID == "" || deref(ev.Event.ChatId) == "" {
		return s.refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("im.chat.member.bot.deleted_v1").Inc()
	s.inbox.Accept(ctx, inbox.Job{
		Kind:       inbox.KindBotRemoved,
		Key:        ev.EventV2Base.Header.EventID,
		ChatID:     deref(ev.Event.ChatId),
		Sender:     idsOf(ev.Event.OperatorId),
		ReceivedAt: s.now(),
	})
	return nil
}

// onBotAdded records the bot's arrival in a group, to greet it.
func (s *Server) onBotAdded(ctx context.Context, ev *larkim.P2ChatMemberBotAddedV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base, ev.EventReq); err != nil {
		return err
	}
	if ev.Event == nil || ev.EventV2Base.Header.EventID == "" || deref(ev.Event.ChatId) == "" {
		return s.refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("im.chat.member.bot.added_v1").Inc()
	s.inbox.Accept(ctx, inbox.Job{
		Kind:       inbox.KindWelcome,
		Key:        ev.EventV2Base.Header.EventID,
		ChatID:     deref(ev.Event.ChatId),
		ChatType:   "group",
		Sender:     idsOf(ev.Event.OperatorId),
		ReceivedAt: s.now(),
	})
	return nil
}

// onChatEntered records a person opening their direct chat with the bot, to greet them.
func (s *Server) onChatEntered(ctx context.Context, ev *larkim.P2ChatAccessEventBotP2pChatEnteredV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base, ev.EventReq); err != nil {
		return err
	}
	if ev.Event == nil || ev.EventV2Base.Header.EventID == "" || deref(ev.Event.ChatId) == "" {
		return s.refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("im.chat.access_event.bot_p2p_chat_entered_v1").Inc()
	s.inbox.Accept(ctx, inbox.Job{
		Kind:       inbox.KindWelcome,
		Key:        ev.EventV2Base.Header.EventID,
		ChatID:     deref(ev.Event.ChatId),
		ChatType:   "p2p",
		Sender:     idsOf(ev.Event.OperatorId),
		ReceivedAt: s.now(),
	})
	return nil
}

// onMenu records a click on the bot's menu. The event names no chat: the answer
// goes to the clicker's direct chat.
func (s *Server) onMenu(ctx context.Context, ev *larkapplication.P2BotMenuV6) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base, ev.EventReq); err != nil {
		return err
	}
	if ev.Event == nil || ev.Event.Operator == nil || ev.Event.Operator.OperatorId == nil ||
		ev.EventV2Base.Header.EventID == "" || deref(ev.Event.Operator.OperatorId.OpenId) == "" {
		return s.refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("application.bot.menu_v6").Inc()
	op := ev.Event.Operator.OperatorId
	s.inbox.Accept(ctx, inbox.Job{
		Kind:       inbox.KindMenu,
		Key:        ev.EventV2Base.Header.EventID,
		ChatType:   "p2p",
		Sender:     inbox.IDs{OpenID: deref(op.OpenId), UnionID: deref(op.UnionId), UserID: deref(op.UserId)},
		Text:       deref(ev.Event.EventKey),
		ReceivedAt: s.now(),
	})
	return nil
}

// onCardAction asks the core for a card click's answer, which Feishu must have
// within 3 s.
func (s *Server) onCardAction(ctx context.Context, ev *callback.CardActionTriggerEvent) (*callback.CardActionTriggerResponse, error) {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base, ev.EventReq); err != nil {
		return nil, err
	}
	if ev.Event == nil || ev.Event.Operator == nil || ev.Event.Action == nil {
		return nil, s.refuse(ctx, "malformed")
	}
	c := inbox.Click{
		// A callback names its operator by open_id, and by user_id only where the app
		// has the scope; the SDK drops the union_id the long connection carries.
		Operator: inbox.IDs{OpenID: ev.Event.Operator.OpenID, UserID: deref(ev.Event.Operator.UserID)},
		Value:    ev.Event.Action.Value,
	}
	if ev.Event.Context != nil {
		c.ChatID, c.MessageID = ev.Event.Context.OpenChatID, ev.Event.Context.OpenMessageID
	}
	a := s.clicks.Click(ctx, c)
	resp := &callback.CardActionTriggerResponse{}
	if a.Toast != nil {
		resp.Toast = &callback.Toast{Type: a.Toast.Type, Content: a.Toast.Content, I18nContent: a.Toast.I18n}
	}
	if a.Card != nil {
		resp.Card = &callback.Card{Type: "raw", Data: a.Card}
	}
	return resp, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func idsOf(u *larkim.UserId) inbox.IDs {
	if u == nil {
		return inbox.IDs{}
	}
	return inbox.IDs{
		OpenID:  larkcore.StringValue(u.OpenId),
		UnionID: larkcore.StringValue(u.UnionId),
		UserID:  larkcore.StringValue(u.UserId),
	}
}

// jobFromMessage turns an im.message.receive_v1 event into a job.
func jobFromMessage(ev *larkim.P2MessageReceiveV1, now time.Time) (inbox.Job, error) {
	if ev == nil || ev.Event == nil || ev.Event.Message == nil || ev.Event.Sender == nil {
		return inbox.Job{}, fmt.Errorf("%w: no message or sender", errMalformed)
	}
	m := ev.Event.Message
	j := inbox.Job{
		Kind:       inbox.KindMessage,
		MessageID:  larkcore.StringValue(m.MessageId),
		ChatID:     larkcore.StringValue(m.ChatId),
		ChatType:   larkcore.StringValue(m.ChatType),
		Sender:     idsOf(ev.Event.Sender.SenderId),
		MsgType:    larkcore.StringValue(m.MessageType),
		ReceivedAt: now,
	}
	if j.MessageID == "" || j.ChatID == "" || j.Sender.OpenID == "" {
		return inbox.Job{}, fmt.Errorf("%w: message_id, chat_id and sender open_id are required", errMalformed)
	}
	j.Key = j.MessageID
	if j.MsgType == "text" {
		var c struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(larkcore.StringValue(m.Content)), &c); err != nil {
			return inbox.Job{}, fmt.Errorf("%w: text content: %v", errMalformed, err)
		}
		j.Text = c.Text
	}
	for _, mt := range m.Mentions {
		if mt == nil {
			continue
		}
		j.Mentions = append(j.Mentions, inbox.Mention{
			Key:  larkcore.StringValue(mt.Key),
			IDs:  idsOf(mt.Id),
			Name: larkcore.StringValue(mt.Name),
		})
	}
	return j, nil
}
