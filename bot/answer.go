package bot

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"acsbot/cards"
	"acsbot/command"
	"acsbot/delivery"
	"acsbot/inbox"
)

// answer runs the command in a chat message and replies with a card. It returns an
// error only when the reply could not be sent for a passing reason, so the job is
// tried again; everything else (unknown text, refusals, ACS failures) is answered
// with a card.
func (b *Bot) answer(ctx context.Context, j inbox.Job) error {
	if j.ChatType == "p2p" && j.ChatID != "" {
		b.p2pChats.SetDefault(j.ChatID, true)
	}
	if j.ChatType != "p2p" && !mentionsBot(j, b.botOpenID) {
		return nil // a group message for someone else
	}
	p := b.commands.Parse(command.Input{
		Text:        j.Text,
		Mentions:    commandMentions(j),
		BotOpenID:   b.botOpenID,
		DefaultLang: command.Lang(b.cfg.Bot.Language),
	})
	name := p.Spec.Name
	if !p.Known {
		name = "unknown"
	}
	runCtx, cancel := commandContext(ctx)
	card, outcome, err := b.run(runCtx, j, p)
	cancel()
	if err != nil {
		b.metrics.Commands.WithLabelValues(name, "retry").Inc()
		return fmt.Errorf("run %s: %w", name, err)
	}
	reply := delivery.Message{What: "reply", ReplyTo: j.MessageID, Chat: j.ChatID, UUID: replyUUID(j.MessageID), Card: card}
	_, err = b.deliver.Deliver(ctx, nil, reply)
	if delivery.VerdictOf(err).UnknownPerson {
		// Feishu refuses a whole card that names someone its directory does not
		// know; the answer goes without the person components, saying so.
		reply.Card = card.WithoutPeople(p.Lang)
		_, err = b.deliver.Deliver(ctx, nil, reply)
	}
	if err != nil {
		b.metrics.Commands.WithLabelValues(name, "reply_failed").Inc()
		if delivery.Retry(err) {
			return fmt.Errorf("reply to %s: %w", j.MessageID, err)
		}
		return nil
	}
	b.metrics.Commands.WithLabelValues(name, outcome).Inc()
	return nil
}

// run passes a parsed command through the gate and runs it.
func (b *Bot) run(ctx context.Context, j inbox.Job, p command.Parsed) (cards.Card, string, error) {
	role := b.gate.role(j.Sender.OpenID, j.ChatID)
	if !p.Known {
		return cards.Help(p.Lang, b.commands.For(role), p.Suggest), "unknown", nil
	}
	if !b.gate.may(p.Spec, j.Sender.OpenID, j.ChatID) {
		return cards.Refused(p.Lang), "refused", nil
	}
	return b.runners[p.Spec.Name](ctx, request{job: j, p: p, role: role})
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
// crash between sending and recording cannot make Feishu show two answers.
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

// commandMentions converts a job's mentions for the parser, which knows people by
// open id.
func commandMentions(j inbox.Job) []command.Mention {
	out := make([]command.Mention, 0, len(j.Mentions))
	for _, m := range j.Mentions {
		out = append(out, command.Mention{Key: m.Key, OpenID: m.IDs.OpenID, Name: m.Name})
	}
	return out
}

// mentionsBot reports whether the bot is among a job's mentions.
func mentionsBot(j inbox.Job, botOpenID string) bool {
	for _, m := range j.Mentions {
		if m.IDs.OpenID == botOpenID {
			return true
		}
	}
	return false
}

// idOfMentioned maps an @-mentioned person's open id to the directory's id type.
func idOfMentioned(j inbox.Job, openID, idType string) string {
	for _, m := range j.Mentions {
		if m.IDs.OpenID == openID {
			if id := m.IDs.Of(idType); id != "" {
				return id
			}
		}
	}
	return ""
}

// intField and boolField read an optional value a job carries in Extra; nil when
// it is absent or unreadable.
func intField(extra map[string]string, key string) *int {
	v, ok := extra[key]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil
	}
	return &n
}

func boolField(extra map[string]string, key string) *bool {
	v, ok := extra[key]
	if !ok {
		return nil
	}
	t, err := strconv.ParseBool(v)
	if err != nil {
		return nil
	}
	return &t
}
