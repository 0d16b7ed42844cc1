package bot

import (
	"context"
	"strconv"
	"strings"

	"acsbot/acs"
	"acsbot/cards"
	"acsbot/command"
	"acsbot/feishu"
	"acsbot/inbox"
)

// request is one command to run: the job that brought it, what it parsed as, and
// the asker's role where it was asked.
type request struct {
	job  inbox.Job
	p    command.Parsed
	role command.Role
}

// lang is the language to answer in.
func (r request) lang() command.Lang { return r.p.Lang }

// runner runs one command and returns its card and outcome label. An error means
// the command could not run for a passing reason (the store failing): the job is
// tried again rather than answered with a card.
type runner func(ctx context.Context, r request) (cards.Card, string, error)

// commandRunners pairs each command with the code that runs it; New checks the
// pairing against the registry.
func (b *Bot) commandRunners() map[string]runner {
	m := map[string]runner{
		"help":          b.help,
		"stats":         b.fromDirectory(b.stats),
		"refresh":       b.refresh,
		"user":          b.fromDirectory(b.user),
		"card":          b.fromDirectory(b.card),
		"subscribe":     b.subscribe,
		"unsubscribe":   b.unsubscribe,
		"subscriptions": b.subscriptions,
		"push":          b.pushNow,
		"remind":        b.remindConfirm,
		"doors":         b.listDoors,
		"access":        b.access,
		"usage":         b.apiUsage,
	}
	for _, l := range lists {
		m[l.command] = b.fromDirectory(b.showList(l))
	}
	return m
}

func (b *Bot) help(_ context.Context, r request) (cards.Card, string, error) {
	return cards.Help(r.lang(), b.commands.For(r.role), ""), "ok", nil
}

// directoryRunner answers from a snapshot of the directory.
type directoryRunner func(r request, snap *acs.Snapshot, v cards.View) (cards.Card, string)

// fromDirectory gives run the cached snapshot (a stale one is served while a new one
// loads), or answers with an error card when there is none to be had.
func (b *Bot) fromDirectory(run directoryRunner) runner {
	return func(ctx context.Context, r request) (cards.Card, string, error) {
		snap, err := b.dir.Get(ctx)
		return b.withSnapshot(r, snap, err, run)
	}
}

// refresh forces a new read of the directory before it answers.
func (b *Bot) refresh(ctx context.Context, r request) (cards.Card, string, error) {
	snap, err := b.dir.Refresh(ctx)
	return b.withSnapshot(r, snap, err, func(r request, snap *acs.Snapshot, v cards.View) (cards.Card, string) {
		return cards.Refreshed(v, snap.Stats(), b.now().Sub(r.job.ReceivedAt)), "ok"
	})
}

func (b *Bot) withSnapshot(r request, snap *acs.Snapshot, err error, run directoryRunner) (cards.Card, string, error) {
	if err != nil {
		b.log.Warn("directory unavailable", "command", r.p.Spec.Name, "err", err)
		return errorCard(r.lang(), err), "error", nil
	}
	card, outcome := run(r, snap, b.view(r.lang(), snap, b.gate.showCardNumbers(r.job.Sender.OpenID, r.job.ChatType == "p2p")))
	return card, outcome, nil
}

func (b *Bot) showList(l list) directoryRunner {
	return func(_ request, snap *acs.Snapshot, v cards.View) (cards.Card, string) {
		return cards.List(v, l.kind, l.members(snap), 1), "ok"
	}
}

func (b *Bot) stats(_ request, snap *acs.Snapshot, v cards.View) (cards.Card, string) {
	return cards.Stats(v, snap.Stats()), "ok"
}

func (b *Bot) user(r request, snap *acs.Snapshot, v cards.View) (cards.Card, string) {
	id, ok := b.userArg(r)
	if !ok {
		return cards.Usage(r.lang(), r.p.Spec, strings.Join(r.p.Args, " ")), "usage"
	}
	u, found := snap.ByID(id)
	return cards.Person(v, id, u, found), "ok"
}

func (b *Bot) card(r request, snap *acs.Snapshot, v cards.View) (cards.Card, string) {
	if len(r.p.Args) != 1 {
		return cards.Usage(r.lang(), r.p.Spec, strings.Join(r.p.Args, " ")), "usage"
	}
	n, err := strconv.Atoi(r.p.Args[0])
	if err != nil || n <= 0 {
		return cards.Usage(r.lang(), r.p.Spec, r.p.Args[0]), "usage"
	}
	return cards.CardLookup(v, n, snap.ByCard(n)), "ok"
}

// userArg finds the person a /user command asks about: an @-mention, else an id.
func (b *Bot) userArg(r request) (string, bool) {
	if len(r.p.Users) > 0 {
		id := idOfMentioned(r.job, r.p.Users[0], b.cfg.ACS.UserIDType)
		return id, id != ""
	}
	if len(r.p.Args) == 1 && r.p.Args[0] != "" {
		return r.p.Args[0], true
	}
	return "", false
}

func (b *Bot) view(lang command.Lang, snap *acs.Snapshot, showCards bool) cards.View {
	return cards.View{Lang: lang, ShowCardNumbers: showCards, TakenAt: snap.TakenAt, Now: b.now(), Refreshing: b.dir.Refreshing(),
		EventsMissing: b.dir.EventsMissing()}
}

// errorCard tells the asker the directory could not be read, with Feishu's code when
// there is one.
func errorCard(lang command.Lang, err error) cards.Card {
	v := feishu.VerdictOf(err)
	if v.Code == 0 && v.Msg == "" {
		return cards.Error(lang, 0, "timeout or network error")
	}
	return cards.Error(lang, v.Code, v.Msg)
}
