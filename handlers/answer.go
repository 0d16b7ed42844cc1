package handlers

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"acsbot/acs"
	"acsbot/cards"
	"acsbot/command"
	"acsbot/feishu"
)

// answer runs the command in a chat message and replies with a card. It returns an
// error only when the reply could not be sent, so the job is tried again; everything
// else (unknown text, refusals, ACS failures) is answered with a card.
func (s *Server) answer(ctx context.Context, j job) error {
	if j.ChatType != "p2p" && !j.mentionsBot(s.botOpenID) {
		return nil // a group message for someone else
	}
	p := s.commands.Parse(command.Input{
		Text:        j.Text,
		Mentions:    j.commandMentions(),
		BotOpenID:   s.botOpenID,
		DefaultLang: command.Lang(s.cfg.Bot.Language),
	})
	role := s.roleOf(j.Sender.OpenID, j.ChatID)
	name := p.Spec.Name
	if !p.Known {
		name = "unknown"
	}
	runCtx, cancel := commandContext(ctx)
	card, outcome, err := s.run(runCtx, j, p, role)
	cancel()
	if err != nil {
		s.metrics.Commands.WithLabelValues(name, "retry").Inc()
		return fmt.Errorf("run %s: %w", name, err)
	}
	body, err := card.JSON()
	if err != nil {
		return fmt.Errorf("build %s card: %w", name, err)
	}
	if _, err := s.feishu.Reply(ctx, j.MessageID, string(body), replyUUID(j.MessageID)); err != nil {
		s.metrics.Commands.WithLabelValues(name, "reply_failed").Inc()
		if feishu.ClassOf(err) == feishu.Permanent {
			s.log.Error("reply refused by Feishu; dropping", "key", j.Key, "command", name, "err", err)
			return nil
		}
		return fmt.Errorf("reply to %s: %w", j.MessageID, err)
	}
	s.metrics.Commands.WithLabelValues(name, outcome).Inc()
	return nil
}

// commandContext is ctx less an eighth of its time, kept for the reply: a command
// that runs out of time (a directory scan slower than the job's budget) is still
// answered with an error card, where sharing one deadline would leave no time to
// send even that, and the asker would hear nothing.
func commandContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, deadline.Add(-time.Until(deadline)/8))
}

// replyUUID derives the reply's Feishu idempotency key from the message id, so a
// crash between sending and recording cannot make Feishu show two answers. Feishu
// allows 50 characters.
func replyUUID(messageID string) string { return messageUUID("r-", messageID) }

// messageUUID is a Feishu uuid (at most 50 characters) for the message a piece of
// work sends: prefix says which kind of message, key which piece of work.
func messageUUID(prefix, key string) string {
	u := prefix + key
	if len(u) <= 50 {
		return u
	}
	sum := sha1.Sum([]byte(key))
	return prefix + hex.EncodeToString(sum[:])
}

// roleOf is the access policy: admins anywhere; anyone in a reader chat may read.
func (s *Server) roleOf(openID, chatID string) command.Role {
	switch {
	case s.cfg.IsAdmin(openID):
		return command.Admin
	case s.cfg.IsReaderChat(chatID):
		return command.Reader
	default:
		return command.Anyone
	}
}

// run executes a parsed command and returns its card and outcome label. An error
// means the command could not run for a passing reason (the store failing): the
// job is tried again rather than answered with a card.
func (s *Server) run(ctx context.Context, j job, p command.Parsed, role command.Role) (cards.Card, string, error) {
	lang := p.Lang
	if !p.Known {
		return cards.Help(lang, s.commands.For(role), p.Suggest), "unknown", nil
	}
	if p.Spec.Role > role {
		return cards.Refused(lang), "refused", nil
	}
	switch p.Spec.Name {
	case "help":
		return cards.Help(lang, s.commands.For(role), ""), "ok", nil
	case "subscribe":
		return s.subscribe(ctx, j, p)
	case "unsubscribe":
		return s.unsubscribe(ctx, j, lang)
	case "subscriptions":
		return s.subscriptions(ctx, lang)
	case "push":
		return s.pushNow(ctx, j, p)
	case "remind":
		card, outcome := s.remindConfirm(ctx, j, p)
		return card, outcome, nil
	}
	card, outcome := s.runDirectory(ctx, j, p, role)
	return card, outcome, nil
}

// runDirectory executes a command answered from the ACS directory.
func (s *Server) runDirectory(ctx context.Context, j job, p command.Parsed, role command.Role) (cards.Card, string) {
	lang := p.Lang
	snap, err := s.snapshotFor(ctx, p.Spec.Name)
	if err != nil {
		s.log.Warn("directory unavailable", "command", p.Spec.Name, "err", err)
		return errorCard(lang, err), "error"
	}
	v := s.view(lang, snap, role == command.Admin && j.ChatType == "p2p")
	switch p.Spec.Name {
	case "noface":
		return cards.List(v, cards.NoFace, snap.NoFace(), 1), "ok"
	case "nocard":
		return cards.List(v, cards.NoCard, snap.NoCard(), 1), "ok"
	case "stats":
		return cards.Stats(v, snap.Stats()), "ok"
	case "refresh":
		return cards.Refreshed(v, snap.Stats(), s.now().Sub(j.ReceivedAt)), "ok"
	case "user":
		id, ok := s.userArg(j, p)
		if !ok {
			return cards.Usage(lang, p.Spec, strings.Join(p.Args, " ")), "usage"
		}
		u, found := snap.ByID(id)
		return cards.Person(v, id, u, found), "ok"
	case "card":
		if len(p.Args) != 1 {
			return cards.Usage(lang, p.Spec, strings.Join(p.Args, " ")), "usage"
		}
		n, err := strconv.Atoi(p.Args[0])
		if err != nil || n <= 0 {
			return cards.Usage(lang, p.Spec, p.Args[0]), "usage"
		}
		return cards.CardLookup(v, n, snap.ByCard(n)), "ok"
	default:
		// Registered but not served by this version: say so rather than pretend.
		return cards.Help(lang, s.commands.For(role), ""), "unsupported"
	}
}

// snapshotFor gets the directory for a command: /refresh forces a new scan, the rest
// take the cached snapshot (a stale one is served while a new one loads).
func (s *Server) snapshotFor(ctx context.Context, name string) (*acs.Snapshot, error) {
	if name == "refresh" {
		return s.dir.Refresh(ctx)
	}
	return s.dir.Get(ctx)
}

// userArg finds the person a /user command asks about: an @-mention, else an id.
func (s *Server) userArg(j job, p command.Parsed) (string, bool) {
	if len(p.Users) > 0 {
		id := j.idOfMentioned(p.Users[0], s.cfg.ACS.UserIDType)
		return id, id != ""
	}
	if len(p.Args) == 1 && p.Args[0] != "" {
		return p.Args[0], true
	}
	return "", false
}

func (s *Server) view(lang command.Lang, snap *acs.Snapshot, showCards bool) cards.View {
	return cards.View{Lang: lang, ShowCardNumbers: showCards, TakenAt: snap.TakenAt, Now: s.now(), Refreshing: s.dir.Refreshing()}
}

// errorCard tells the asker the directory could not be read, with Feishu's code when
// there is one.
func errorCard(lang command.Lang, err error) cards.Card {
	var fe *feishu.Error
	if errors.As(err, &fe) {
		return cards.Error(lang, fe.Code, fe.Msg)
	}
	return cards.Error(lang, 0, "timeout or network error")
}
