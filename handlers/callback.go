package handlers

import (
	"context"

	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"

	"acsbot/cards"
	"acsbot/command"
)

// onCardAction answers a card button click. Feishu waits at most 3 s and never
// retries, so it is served from the cached snapshot only, never from a scan.
func (s *Server) onCardAction(ctx context.Context, ev *callback.CardActionTriggerEvent) (*callback.CardActionTriggerResponse, error) {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base); err != nil {
		return nil, err
	}
	if ev.Event == nil || ev.Event.Operator == nil || ev.Event.Action == nil {
		return nil, refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("card.action.trigger").Inc()
	lang := command.Lang(s.cfg.Bot.Language)
	if ra, ok := cards.ParseReminderAction(ev.Event.Action.Value); ok {
		return s.onReminderAction(ctx, ev, ra)
	}
	pa, ok := cards.ParsePageAction(ev.Event.Action.Value)
	if !ok {
		s.metrics.Commands.WithLabelValues("card_action", "unknown").Inc()
		return unsupportedButton(lang), nil
	}
	chatID := ""
	if ev.Event.Context != nil {
		chatID = ev.Event.Context.OpenChatID
	}
	role := s.roleOf(ev.Event.Operator.OpenID, chatID)
	if role < command.Reader {
		s.metrics.Commands.WithLabelValues("page", "refused").Inc()
		return toast("error", lang, "Only access-control admins and members of the admin chats can see this list.", "只有门禁管理员和授权群的成员可以查看这个列表。"), nil
	}
	snap := s.dir.Cached()
	if snap == nil {
		// After a restart nothing is cached yet: start a scan and ask for a retry
		// rather than make Feishu wait past its 3 s.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), s.jobTimeout)
			defer cancel()
			_, _ = s.dir.Get(ctx)
		}()
		s.metrics.Commands.WithLabelValues("page", "loading").Inc()
		return toast("info", lang, "Loading the directory, try again in a few seconds.", "正在加载门禁名单，请几秒后再试。"), nil
	}
	if pa.Lang != "" {
		lang = pa.Lang
	}
	_, p2p := s.p2pChats.Get(chatID)
	v := s.view(lang, snap, role == command.Admin && p2p)
	users := snap.NoFace()
	if pa.Kind == cards.NoCard {
		users = snap.NoCard()
	}
	s.metrics.Commands.WithLabelValues("page", "ok").Inc()
	return &callback.CardActionTriggerResponse{Card: &callback.Card{Type: "raw", Data: cards.List(v, pa.Kind, users, pa.Page)}}, nil
}

// unsupportedButton answers a click whose value the bot did not make, or no longer
// understands.
func unsupportedButton(lang command.Lang) *callback.CardActionTriggerResponse {
	return toast("warning", lang, "This button is no longer supported.", "这个按钮已不再可用。")
}

func toast(kind string, lang command.Lang, en, zh string) *callback.CardActionTriggerResponse {
	content := zh
	if lang == command.EN {
		content = en
	}
	return &callback.CardActionTriggerResponse{Toast: &callback.Toast{
		Type: kind, Content: content, I18nContent: map[string]string{"zh_cn": zh, "en_us": en},
	}}
}
