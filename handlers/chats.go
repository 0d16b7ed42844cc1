package handlers

import (
	"context"

	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
)

// onBotRemoved records the bot's removal from a chat. The worker drops the chat's
// subscription: the bot can no longer post there.
func (s *Server) onBotRemoved(ctx context.Context, ev *larkim.P2ChatMemberBotDeletedV1) error {
	verdictFrom(ctx).reached = true
	if ev.EventV2Base == nil || !s.tokenOK(ev.EventV2Base.Header) {
		return refuse(ctx, "token")
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
