package bot

import (
	"context"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"acsbot/cards"
	"acsbot/command"
	"acsbot/scheduler"
)

// subscribe answers /subscribe [HH:MM]: the chat gets the daily summary at that local
// time (scheduler.DefaultAt without one). A time that is not one stores nothing.
func (b *Bot) subscribe(ctx context.Context, r request) (cards.Card, string, error) {
	at := scheduler.DefaultAt
	if len(r.p.Args) > 0 {
		ok := false
		if len(r.p.Args) == 1 {
			at, ok = command.ParseClock(r.p.Args[0])
		}
		if !ok {
			return cards.BadTime(r.lang(), strings.Join(r.p.Args, " ")), "usage", nil
		}
	}
	now := b.now()
	j := r.job
	if err := b.store.Subscribe(ctx, j.ChatID, at, j.Sender.OpenID, now); err != nil {
		return cards.Card{}, "", err
	}
	// Re-subscribing the day a summary went out does not bring a second one.
	subs, err := b.store.Subscriptions(ctx)
	if err != nil {
		return cards.Card{}, "", err
	}
	loc := b.cfg.Location()
	sentToday := false
	for _, sub := range subs {
		if sub.ChatID == j.ChatID {
			sentToday = sub.LastSentDay == scheduler.Day(now, loc)
		}
	}
	next, err := scheduler.NextRun(at, now, loc, sentToday)
	if err != nil {
		return cards.Card{}, "", err
	}
	return cards.Subscribed(r.lang(), b.chatName(ctx, j.ChatID), at, loc.String(), next), "ok", nil
}

// unsubscribe answers /unsubscribe: the chat gets no more summaries.
func (b *Bot) unsubscribe(ctx context.Context, r request) (cards.Card, string, error) {
	existed, err := b.store.Unsubscribe(ctx, r.job.ChatID)
	if err != nil {
		return cards.Card{}, "", err
	}
	return cards.Unsubscribed(r.lang(), b.chatName(ctx, r.job.ChatID), existed), "ok", nil
}

// pushNow answers /push now with the chat's summary as the daily push builds it,
// so an admin can see it before the first one comes. It is a reply to the command,
// not the day's summary: that one still comes at its time.
func (b *Bot) pushNow(ctx context.Context, r request) (cards.Card, string, error) {
	if len(r.p.Args) != 1 || r.p.Args[0] != "now" {
		return cards.Usage(r.lang(), r.p.Spec, strings.Join(r.p.Args, " ")), "usage", nil
	}
	snap, err := b.dir.Get(ctx)
	if err != nil {
		b.log.Warn("directory unavailable", "command", "push", "err", err)
		return errorCard(r.lang(), err), "error", nil
	}
	card, err := b.sched.Preview(ctx, r.job.ChatID, snap, r.lang())
	if err != nil {
		return cards.Card{}, "", err
	}
	return card, "ok", nil
}

// nameLookups bounds the chat name lookups /subscriptions runs at once, well under
// Feishu's per-app limits.
const nameLookups = 4

// subscriptions answers /subscriptions: every subscribed chat, its time, who set
// it, when it last got its summary and why the latest one failed.
func (b *Bot) subscriptions(ctx context.Context, r request) (cards.Card, string, error) {
	subs, err := b.store.Subscriptions(ctx)
	if err != nil {
		return cards.Card{}, "", err
	}
	loc := b.cfg.Location()
	rows := make([]cards.SubscriptionRow, len(subs))
	var g errgroup.Group
	g.SetLimit(nameLookups)
	for i, sub := range subs {
		rows[i] = cards.SubscriptionRow{At: sub.At, By: sub.By, LastError: sub.LastError}
		if !sub.LastSentAt.IsZero() {
			rows[i].LastSent = sub.LastSentAt.In(loc)
		}
		g.Go(func() error {
			rows[i].Chat = b.chatName(ctx, sub.ChatID)
			return nil
		})
	}
	_ = g.Wait() // the lookups never fail: a chat without a name shows its id
	return cards.Subscriptions(r.lang(), loc.String(), rows), "ok", nil
}

// chatNameTimeout bounds one chat name lookup: a name is nice to have, not worth
// holding an answer up for.
const chatNameTimeout = 5 * time.Second

// chatName is a chat's name for a card, or its id when Feishu has no name for it
// (direct chats) or cannot be asked.
func (b *Bot) chatName(ctx context.Context, chatID string) string {
	ctx, cancel := context.WithTimeout(ctx, chatNameTimeout)
	defer cancel()
	name, err := b.feishu.ChatName(ctx, chatID)
	if err != nil {
		b.log.Debug("chat name unavailable; showing the id", "chat", chatID, "err", err)
	}
	if name == "" {
		return chatID
	}
	return name
}
