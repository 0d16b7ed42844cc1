package handlers

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
func (s *Server) subscribe(ctx context.Context, j job, p command.Parsed) (cards.Card, string, error) {
	at := scheduler.DefaultAt
	if len(p.Args) > 0 {
		ok := false
		if len(p.Args) == 1 {
			at, ok = scheduler.ParseClock(p.Args[0])
		}
		if !ok {
			return cards.BadTime(p.Lang, strings.Join(p.Args, " ")), "usage", nil
		}
	}
	now := s.now()
	if err := s.store.Subscribe(ctx, j.ChatID, at, j.Sender.OpenID, now); err != nil {
		return cards.Card{}, "", err
	}
	// Re-subscribing the day a summary went out does not bring a second one.
	subs, err := s.store.Subscriptions(ctx)
	if err != nil {
		return cards.Card{}, "", err
	}
	loc := s.cfg.Location()
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
	return cards.Subscribed(p.Lang, s.chatName(ctx, j.ChatID), at, loc.String(), next), "ok", nil
}

// unsubscribe answers /unsubscribe: the chat gets no more summaries.
func (s *Server) unsubscribe(ctx context.Context, j job, lang command.Lang) (cards.Card, string, error) {
	existed, err := s.store.Unsubscribe(ctx, j.ChatID)
	if err != nil {
		return cards.Card{}, "", err
	}
	return cards.Unsubscribed(lang, s.chatName(ctx, j.ChatID), existed), "ok", nil
}

// pushNow answers /push now with the chat's summary as the daily push builds it,
// so an admin can see it before the first one comes. It is a reply to the command,
// not the day's summary: that one still comes at its time.
func (s *Server) pushNow(ctx context.Context, j job, p command.Parsed) (cards.Card, string, error) {
	if len(p.Args) != 1 || p.Args[0] != "now" {
		return cards.Usage(p.Lang, p.Spec, strings.Join(p.Args, " ")), "usage", nil
	}
	snap, err := s.dir.Get(ctx)
	if err != nil {
		s.log.Warn("directory unavailable", "command", "push", "err", err)
		return errorCard(p.Lang, err), "error", nil
	}
	card, err := s.sched.Preview(ctx, j.ChatID, snap, p.Lang)
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
func (s *Server) subscriptions(ctx context.Context, lang command.Lang) (cards.Card, string, error) {
	subs, err := s.store.Subscriptions(ctx)
	if err != nil {
		return cards.Card{}, "", err
	}
	loc := s.cfg.Location()
	rows := make([]cards.SubscriptionRow, len(subs))
	var g errgroup.Group
	g.SetLimit(nameLookups)
	for i, sub := range subs {
		rows[i] = cards.SubscriptionRow{At: sub.At, By: sub.By, LastError: sub.LastError}
		if !sub.LastSentAt.IsZero() {
			rows[i].LastSent = sub.LastSentAt.In(loc)
		}
		g.Go(func() error {
			rows[i].Chat = s.chatName(ctx, sub.ChatID)
			return nil
		})
	}
	_ = g.Wait() // the lookups never fail: a chat without a name shows its id
	return cards.Subscriptions(lang, loc.String(), rows), "ok", nil
}

// chatNameTimeout bounds one chat name lookup: a name is nice to have, not worth
// holding an answer up for.
const chatNameTimeout = 5 * time.Second

// chatName is a chat's name for a card, or its id when Feishu has no name for it
// (direct chats) or cannot be asked.
func (s *Server) chatName(ctx context.Context, chatID string) string {
	ctx, cancel := context.WithTimeout(ctx, chatNameTimeout)
	defer cancel()
	name, err := s.feishu.ChatName(ctx, chatID)
	if err != nil {
		s.log.Debug("chat name unavailable; showing the id", "chat", chatID, "err", err)
	}
	if name == "" {
		return chatID
	}
	return name
}
