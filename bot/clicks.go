package bot

import (
	"context"

	"acsbot/cards"
	"acsbot/command"
	"acsbot/inbox"
)

// Click answers a card button click. Feishu waits at most 3 s and never retries, so
// it is served from the cached snapshot only, never from a read of the directory.
func (b *Bot) Click(ctx context.Context, c inbox.Click) inbox.Answer {
	b.metrics.EventsReceived.WithLabelValues("card.action.trigger").Inc()
	if ra, ok := cards.ParseReminderAction(c.Value); ok {
		return b.onReminderAction(ctx, c, ra)
	}
	pa, ok := cards.ParsePageAction(c.Value)
	if !ok {
		b.metrics.Commands.WithLabelValues("card_action", "unknown").Inc()
		return unsupportedButton(command.Lang(b.cfg.Bot.Language))
	}
	return b.turnPage(c, pa)
}

// turnPage answers Prev/Next on a list card with the list's other page.
func (b *Bot) turnPage(c inbox.Click, pa cards.PageAction) inbox.Answer {
	lang := command.Lang(b.cfg.Bot.Language)
	l, _ := listOf(string(pa.Kind)) // ParsePageAction knows only the kinds of lists
	spec, _ := b.commands.Lookup(l.command)
	if !b.gate.may(spec, c.Operator.OpenID, c.ChatID) {
		b.metrics.Commands.WithLabelValues("page", "refused").Inc()
		return toast("error", lang, "Only access-control admins and members of the admin chats can see this list.", "只有门禁管理员和授权群的成员可以查看这个列表。")
	}
	snap := b.dir.Cached()
	if snap == nil {
		// After a restart nothing is cached yet: start a read and ask for a retry
		// rather than make Feishu wait past its 3 s.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), b.jobTimeout)
			defer cancel()
			_, _ = b.dir.Get(ctx)
		}()
		b.metrics.Commands.WithLabelValues("page", "loading").Inc()
		return toast("info", lang, "Loading the directory, try again in a few seconds.", "正在加载门禁名单，请几秒后再试。")
	}
	if pa.Lang != "" {
		lang = pa.Lang
	}
	_, p2p := b.p2pChats.Get(c.ChatID)
	v := b.view(lang, snap, b.gate.showCardNumbers(c.Operator.OpenID, p2p))
	b.metrics.Commands.WithLabelValues("page", "ok").Inc()
	return inbox.Answer{Card: cards.List(v, l.kind, l.members(snap), pa.Page)}
}

// unsupportedButton answers a click whose value the bot did not make, or no longer
// understands.
func unsupportedButton(lang command.Lang) inbox.Answer {
	return toast("warning", lang, "This button is no longer supported.", "这个按钮已不再可用。")
}

func toast(kind string, lang command.Lang, en, zh string) inbox.Answer {
	content := zh
	if lang == command.EN {
		content = en
	}
	return inbox.Answer{Toast: &inbox.Toast{
		Type: kind, Content: content, I18n: map[string]string{"zh_cn": zh, "en_us": en},
	}}
}
