package handlers

import (
	"context"
	"fmt"
	"time"

	larkapplication "github.com/larksuite/oapi-sdk-go/v3/service/application/v6"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"acsbot/cards"
	"acsbot/command"
	"acsbot/feishu"
)

// onBotRemoved records the bot's removal from a chat. The worker drops the chat's
// subscription: the bot can no longer post there.
func (s *Server) onBotRemoved(ctx context.Context, ev *larkim.P2ChatMemberBotDeletedV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base); err != nil {
		return err
	}
	if ev.Event == nil || ev.EventV2Base.Header.EventID == "" || deref(ev.Event.ChatId) == "" {
		return refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("im.chat.member.bot.deleted_v1").Inc()
	s.accept(ctx, job{
		Kind:       jobBotRemoved,
		Key:        ev.EventV2Base.Header.EventID,
		ChatID:     deref(ev.Event.ChatId),
		Sender:     idsOf(ev.Event.OperatorId),
		ReceivedAt: s.now(),
	})
	return nil
}

// botRemoved drops the subscription of a chat the bot was removed from.
func (s *Server) botRemoved(ctx context.Context, j job) error {
	existed, err := s.store.Unsubscribe(ctx, j.ChatID)
	if err != nil {
		return err
	}
	if existed {
		s.log.Info("bot removed from a subscribed chat; subscription dropped", "chat", j.ChatID, "by", j.Sender.OpenID)
	}
	return nil
}

// welcomeEvery is how often one person may be greeted in their direct chat.
const welcomeEvery = 24 * time.Hour

// onBotAdded records the bot's arrival in a group, to greet it.
func (s *Server) onBotAdded(ctx context.Context, ev *larkim.P2ChatMemberBotAddedV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base); err != nil {
		return err
	}
	if ev.Event == nil || ev.EventV2Base.Header.EventID == "" || deref(ev.Event.ChatId) == "" {
		return refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("im.chat.member.bot.added_v1").Inc()
	s.accept(ctx, job{
		Kind:       jobWelcome,
		Key:        ev.EventV2Base.Header.EventID,
		ChatID:     deref(ev.Event.ChatId),
		ChatType:   "group",
		Sender:     idsOf(ev.Event.OperatorId),
		ReceivedAt: s.now(),
	})
	return nil
}

// onChatEntered records a person opening their direct chat with the bot, to greet
// them, at most once a day.
func (s *Server) onChatEntered(ctx context.Context, ev *larkim.P2ChatAccessEventBotP2pChatEnteredV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base); err != nil {
		return err
	}
	if ev.Event == nil || ev.EventV2Base.Header.EventID == "" || deref(ev.Event.ChatId) == "" {
		return refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("im.chat.access_event.bot_p2p_chat_entered_v1").Inc()
	chatID := deref(ev.Event.ChatId)
	if s.welcomed.Add(chatID, true, welcomeEvery) != nil {
		return nil // greeted today
	}
	s.accept(ctx, job{
		Kind:       jobWelcome,
		Key:        ev.EventV2Base.Header.EventID,
		ChatID:     chatID,
		ChatType:   "p2p",
		Sender:     idsOf(ev.Event.OperatorId),
		ReceivedAt: s.now(),
	})
	return nil
}

// welcome greets a chat with what the bot can do there for the person who added or
// opened it: the help card, filtered by what they may run.
func (s *Server) welcome(ctx context.Context, j job) error {
	lang := command.Lang(s.cfg.Bot.Language)
	role := s.roleOf(j.Sender.OpenID, j.ChatID)
	card := cards.Welcome(lang, s.commands.For(role), j.ChatType == "group")
	return s.send(ctx, "welcome", "chat_id", j.ChatID, card, messageUUID("w-", j.Key))
}

// onMenu records a click on the bot's menu. The event names no chat: the answer
// goes to the clicker's direct chat.
func (s *Server) onMenu(ctx context.Context, ev *larkapplication.P2BotMenuV6) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base); err != nil {
		return err
	}
	if ev.Event == nil || ev.Event.Operator == nil || ev.Event.Operator.OperatorId == nil ||
		ev.EventV2Base.Header.EventID == "" || deref(ev.Event.Operator.OperatorId.OpenId) == "" {
		return refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("application.bot.menu_v6").Inc()
	op := ev.Event.Operator.OperatorId
	s.accept(ctx, job{
		Kind:       jobMenu,
		Key:        ev.EventV2Base.Header.EventID,
		ChatType:   "p2p",
		Sender:     ids{OpenID: deref(op.OpenId), UnionID: deref(op.UnionId), UserID: deref(op.UserId)},
		Text:       deref(ev.Event.EventKey),
		ReceivedAt: s.now(),
	})
	return nil
}

// menuKey reports whether a menu event key is one the bot answers: each is the
// name of the command it runs.
func menuKey(key string) bool {
	switch key {
	case "noface", "stats", "help":
		return true
	}
	return false
}

// menu runs the command a menu item stands for, as if typed in the clicker's direct
// chat, and sends the answer there.
func (s *Server) menu(ctx context.Context, j job) error {
	spec, ok := s.commands.Lookup(j.Text)
	if !menuKey(j.Text) || !ok {
		s.log.Warn("bot menu item with an unknown key; configure noface, stats or help", "key", j.Text)
		return nil
	}
	p := command.Parsed{Spec: spec, Known: true, Lang: command.Lang(s.cfg.Bot.Language)}
	card, outcome, err := s.run(ctx, j, p, s.roleOf(j.Sender.OpenID, ""))
	if err != nil {
		return err
	}
	s.metrics.Commands.WithLabelValues(spec.Name, "menu_"+outcome).Inc()
	return s.send(ctx, "menu", "open_id", j.Sender.OpenID, card, messageUUID("m-", j.Key))
}

// send sends a card of a piece of work. A refusal no retry can fix (the bot left
// the chat, the person is outside its availability) is logged and the work is
// done; any other failure is returned so the work is tried again.
func (s *Server) send(ctx context.Context, what, idType, to string, card cards.Card, uuid string) error {
	body, err := card.JSON()
	if err != nil {
		return fmt.Errorf("build %s card: %w", what, err)
	}
	if _, err := s.feishu.Send(ctx, idType, to, string(body), uuid); err != nil {
		if feishu.ClassOf(err) == feishu.Permanent && ctx.Err() == nil {
			s.log.Warn("card refused by Feishu; dropping", "what", what, "err", err)
			return nil
		}
		return fmt.Errorf("send %s card: %w", what, err)
	}
	return nil
}
