package bot

import (
	"context"
	"fmt"
	"strconv"

	"acsbot/cards"
	"acsbot/command"
	"acsbot/delivery"
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
	if !p2p {
		return b.pageAsNewCard(c, pa, lang)
	}
	v := b.view(lang, snap, b.gate.showCardNumbers(c.Operator.OpenID, p2p))
	b.metrics.Commands.WithLabelValues("page", "ok").Inc()
	return inbox.Answer{Card: cards.List(v, l.kind, l.members(snap), pa.Page)}
}

// pageAsNewCard answers Prev/Next on a list in a group. A card is the same for
// everyone in the chat, so turning it would turn it under every other reader: the
// page comes as a new card under the list, and the list stays as it was.
func (b *Bot) pageAsNewCard(c inbox.Click, pa cards.PageAction, lang command.Lang) inbox.Answer {
	b.inbox.Accept(context.Background(), inbox.Job{
		Kind:       inbox.KindPage,
		Key:        fmt.Sprintf("page:%s:%s:%s:%d", c.MessageID, c.Operator.OpenID, pa.Kind, pa.Page),
		MessageID:  c.MessageID,
		ChatID:     c.ChatID,
		Sender:     c.Operator,
		ReceivedAt: b.now(),
		Extra:      map[string]string{"list": string(pa.Kind), "page": strconv.Itoa(pa.Page), "lang": string(lang)},
	})
	b.metrics.Commands.WithLabelValues("page", "new_card").Inc()
	return toast("info", lang, fmt.Sprintf("Page %d comes as a new card below, so nobody else's list turns.", pa.Page),
		fmt.Sprintf("第 %d 页会作为新卡片发在下方，不会翻动其他人正在看的列表。", pa.Page))
}

// pagePosted sends the page a group member asked for as a reply to the list card.
func (b *Bot) pagePosted(ctx context.Context, j inbox.Job) error {
	l, ok := listOf(j.Extra["list"])
	page := intField(j.Extra, "page")
	if !ok || page == nil {
		b.log.Warn("page job without a list or page", "key", j.Key)
		return nil
	}
	snap, err := b.dir.Get(ctx)
	if err != nil {
		return err
	}
	v := b.view(command.Lang(j.Extra["lang"]), snap, false)
	_, err = b.deliver.Deliver(ctx, nil, delivery.Message{What: "page", ReplyTo: j.MessageID, Chat: j.ChatID,
		UUID: messageUUID("pg-", j.Key), Card: cards.List(v, l.kind, l.members(snap), *page)})
	if delivery.Retry(err) {
		return err
	}
	return nil
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
