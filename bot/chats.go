package bot

import (
	"context"
	"slices"
	"time"

	"acsbot/cards"
	"acsbot/command"
	"acsbot/delivery"
	"acsbot/inbox"
)

// botRemoved drops the subscription of a chat the bot was removed from: the bot can
// no longer post there.
func (b *Bot) botRemoved(ctx context.Context, j inbox.Job) error {
	existed, err := b.store.Unsubscribe(ctx, j.ChatID)
	if err != nil {
		return err
	}
	if existed {
		b.log.Info("bot removed from a subscribed chat; subscription dropped", "chat", j.ChatID, "by", j.Sender.OpenID)
	}
	return nil
}

// welcomeEvery is how often one person may be greeted in their direct chat.
const welcomeEvery = 24 * time.Hour

// welcome greets a chat with what the bot can do there for the person who added or
// opened it: the help card, filtered by what they may run. A direct chat is greeted
// at most once a day.
func (b *Bot) welcome(ctx context.Context, j inbox.Job) error {
	group := j.ChatType != "p2p"
	if !group && b.welcomed.Add(j.ChatID, true, welcomeEvery) != nil {
		return nil // greeted today
	}
	lang := command.Lang(b.cfg.Bot.Language)
	card := cards.Welcome(lang, b.commands.For(b.gate.role(j.Sender.OpenID, j.ChatID)), group)
	return b.send(ctx, "welcome", "chat_id", j.ChatID, card, messageUUID("w-", j.Key))
}

// menuKeys are the bot menu's event keys the bot answers: each is the name of the
// command it runs.
func menuKeys() []string { return []string{"noface", "stats", "help"} }

// menu runs the command a menu item stands for, as if typed in the clicker's direct
// chat, and sends the answer there.
func (b *Bot) menu(ctx context.Context, j inbox.Job) error {
	spec, ok := b.commands.Lookup(j.Text)
	if !ok || !slices.Contains(menuKeys(), j.Text) {
		b.log.Warn("bot menu item with an unknown key; configure noface, stats or help", "key", j.Text)
		return nil
	}
	p := command.Parsed{Spec: spec, Known: true, Lang: command.Lang(b.cfg.Bot.Language)}
	card, outcome, err := b.run(ctx, j, p)
	if err != nil {
		return err
	}
	b.metrics.Commands.WithLabelValues(spec.Name, "menu_"+outcome).Inc()
	return b.send(ctx, "menu", "open_id", j.Sender.OpenID, card, messageUUID("m-", j.Key))
}

// send sends a card of a piece of work. A refusal no retry can fix (the bot left
// the chat, the person is outside its availability) ends the work; any other
// failure is returned so the work is tried again.
func (b *Bot) send(ctx context.Context, what, idType, to string, card cards.Card, uuid string) error {
	_, err := b.deliver.Deliver(ctx, nil, delivery.Message{What: what, IDType: idType, To: to, UUID: uuid, Card: card})
	if delivery.Retry(err) {
		return err
	}
	return nil
}
