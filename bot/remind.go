package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"acsbot/cards"
	"acsbot/clock"
	"acsbot/command"
	"acsbot/delivery"
	"acsbot/inbox"
	"acsbot/store"
)

// remindConfirm answers /remind noface with a confirm card: who would get a direct
// message, and Send/Cancel buttons. Nothing is sent before an admin clicks Send. A
// round whose messages would not fit in what feishu.monthly_quota leaves this
// month is refused instead, saying how many it needs and how many are left.
func (b *Bot) remindConfirm(ctx context.Context, r request) (cards.Card, string, error) {
	target := b.commands.Parse(command.Input{Text: strings.Join(r.p.Args, " "), DefaultLang: r.lang()})
	if !target.Known || target.Spec.Name != remindList.command {
		return cards.Usage(r.lang(), r.p.Spec, strings.Join(r.p.Args, " ")), "usage", nil
	}
	snap, err := b.dir.Get(ctx)
	if err != nil {
		b.log.Warn("directory unavailable", "command", "remind", "err", err)
		return errorCard(r.lang(), err), "error", nil
	}
	people := remindList.members(snap)
	// A round cut short by the quota would remind some and leave the bot mute for
	// the rest of the month: refuse it while nothing is spent. A round costs a
	// message a person and its card's updates: progressSteps at most, the result
	// included.
	if left, ok := b.meter.Month().Left(); ok && len(people)+progressSteps > left {
		return cards.ReminderOverQuota(r.lang(), len(people)+progressSteps, left), "over_quota", nil
	}
	return cards.ReminderConfirm(r.lang(), people, b.remindActionID(r.job.MessageID)), "ok", nil
}

// remindList is the list whose people get reminders.
var remindList, _ = listOf("noface")

// remindActionID is the id the confirm card's buttons carry: a part derived from the
// command's message, so a confirm card sent again after a crash has the same id, and
// a MAC of that part keyed by the app secret, so a forged callback (plain-text events
// carry the verification token in clear) cannot make up an id that starts a round.
func (b *Bot) remindActionID(messageID string) string {
	sum := sha1.Sum([]byte(messageID))
	base := hex.EncodeToString(sum[:8])
	return "rm-" + base + "-" + b.actionMAC(base)
}

func (b *Bot) actionMAC(base string) string {
	m := hmac.New(sha256.New, []byte(b.cfg.Feishu.AppSecret.Value()))
	m.Write([]byte("remind:" + base))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// genuineActionID reports whether id is one remindActionID made.
func (b *Bot) genuineActionID(id string) bool {
	rest, ok := strings.CutPrefix(id, "rm-")
	base, mac, cut := strings.Cut(rest, "-")
	return ok && cut && hmac.Equal([]byte(mac), []byte(b.actionMAC(base)))
}

// onReminderAction answers a click on a confirm card's Send or Cancel. Only an
// admin's click counts, and only the first click on a card: the store claims its
// action id, so a second click, a click after Cancel or a re-delivered callback
// does nothing. Send records the round and queues it; a worker sends.
func (b *Bot) onReminderAction(ctx context.Context, c inbox.Click, ra cards.ReminderAction) inbox.Answer {
	lang := command.Lang(b.cfg.Bot.Language)
	if !b.genuineActionID(ra.ID) {
		b.metrics.Commands.WithLabelValues("remind_click", "forged").Inc()
		return unsupportedButton(lang)
	}
	spec, _ := b.commands.Lookup("remind")
	if !b.gate.may(spec, c.Operator.OpenID, c.ChatID) {
		b.metrics.Commands.WithLabelValues("remind_click", "refused").Inc()
		return toast("error", lang, "Only access-control admins can send reminders.", "只有门禁管理员可以发送提醒。")
	}
	j := inbox.Job{
		Kind:       inbox.KindRemind,
		Key:        "remind:" + ra.ID,
		MessageID:  c.MessageID,
		ChatID:     c.ChatID,
		Sender:     inbox.IDs{OpenID: c.Operator.OpenID},
		ReceivedAt: b.now(),
		Extra:      map[string]string{"action": ra.ID},
	}
	claimed, err := b.claimAction(ctx, ra, j)
	if err != nil {
		b.inbox.StoreFailed("claim reminder action", err)
		return toast("error", lang, "Something went wrong; please click again.", "出了点问题，请再点一次。")
	}
	if !claimed {
		b.metrics.Commands.WithLabelValues("remind_click", "spent").Inc()
		return toast("info", lang, "This has already been done.", "这个操作已经处理过了。")
	}
	if !ra.Send {
		b.metrics.Commands.WithLabelValues("remind_click", "cancelled").Inc()
		return toast("info", lang, "Cancelled: nobody was reminded.", "已取消，没有发送任何提醒。")
	}
	b.inbox.Recorded(j)
	b.metrics.Commands.WithLabelValues("remind_click", "ok").Inc()
	total := 0
	if snap := b.dir.Cached(); snap != nil {
		total = len(remindList.members(snap))
	}
	a := toast("success", lang, "Sending reminders…", "正在发送提醒…")
	a.Card = cards.ReminderProgress(lang, 0, total)
	return a
}

// claimAction spends a confirm card's buttons. Send records its round, j, in the
// same transaction: a crash between a claim and a record of their own would leave
// the card saying "already done" to every click and no round to run.
func (b *Bot) claimAction(ctx context.Context, ra cards.ReminderAction, j inbox.Job) (bool, error) {
	if !ra.Send {
		return b.store.ClaimAction(ctx, ra.ID, b.now(), nil)
	}
	payload, err := json.Marshal(j)
	if err != nil {
		return false, fmt.Errorf("encode reminder round: %w", err)
	}
	return b.store.ClaimAction(ctx, ra.ID, b.now(), &store.Work{Key: j.Key, Kind: j.Kind, Payload: payload})
}

// Pacing of a reminder round. Feishu allows 50 messages a second and 1000 a minute
// per app, and 5 a second to one user; one message every 100 ms stays well under
// all three, leaving room for the bot's other messages. Progress shows at each
// tenth of the round: an admin needs no more, and a round of 30,000 people would
// otherwise update its card thousands of times.
const (
	reminderEvery = 100 * time.Millisecond
	progressSteps = 10
)

// errStopping leaves a round unfinished because the bot is stopping; it resumes at
// the next start.
var errStopping = errors.New("bot stopping")

// reminderClaim is one person's reminder in a round: claimed in the store before
// the send, marked sent after it, released when it failed so a later round may try.
type reminderClaim struct {
	store  *store.Store
	userID string
}

func (c reminderClaim) Done(ctx context.Context) error {
	return c.store.MarkReminderSent(ctx, c.userID)
}

func (c reminderClaim) Fail(ctx context.Context, _ string) error {
	return c.store.ReleaseReminder(ctx, c.userID)
}

// remind sends a round of reminders: one direct message to each person without a
// face photo who was not reminded in the last 24 h, in acs.user_id_type, paced
// under Feishu's limits. The confirm card shows progress and ends with the result.
func (b *Bot) remind(ctx context.Context, j inbox.Job) error {
	lang := command.Lang(b.cfg.Bot.Language)
	snap, err := b.dir.Get(ctx)
	if err != nil {
		return err
	}
	users := remindList.members(snap)
	action := j.Extra["action"]
	idType := b.cfg.ACS.UserIDType
	var report cards.ReminderReport
	pace := pacer{every: reminderEvery, now: time.Now, sleep: clock.Sleep}
	rc := &roundCard{messageID: j.MessageID, chatID: j.ChatID, adminID: j.Sender.OpenID, action: action}
	shownStep := 0
	for i, u := range users {
		select {
		case <-b.inbox.Stopping():
			return errStopping
		default:
		}
		ok, err := b.store.ClaimReminder(ctx, u.ID, action, b.now())
		if err != nil {
			return err
		}
		if !ok {
			report.Skipped++
			continue
		}
		if err := pace.wait(ctx); err != nil {
			_ = b.store.ReleaseReminder(context.WithoutCancel(ctx), u.ID)
			return err
		}
		claim := reminderClaim{store: b.store, userID: u.ID}
		_, err = b.deliver.Deliver(ctx, claim, delivery.Message{
			What: "reminder", IDType: idType, To: u.ID, UUID: reminderUUID(action, u.ID), Card: cards.Reminder(lang),
		})
		if err != nil {
			v := delivery.VerdictOf(err)
			if v.Retry {
				// Released for a later round; this one goes on with the others.
				if rerr := claim.Fail(ctx, v.Reason); rerr != nil {
					b.inbox.StoreFailed("release reminder", rerr)
				}
			}
			report.Failed = append(report.Failed, cards.ReminderFailure{UserID: u.ID, Reason: v.Reason})
			if v.AppWide {
				for _, rest := range users[i+1:] {
					report.Failed = append(report.Failed, cards.ReminderFailure{UserID: rest.ID, Reason: "not sent: " + v.Reason})
				}
				b.log.Error("reminders stopped: Feishu refuses them for everyone", "id_type", idType, "reason", v.Reason)
				break
			}
			continue
		}
		report.Sent++
		if step := (i + 1) * progressSteps / len(users); step > shownStep && i+1 < len(users) {
			shownStep = step
			b.showRound(ctx, rc, cards.ReminderProgress(lang, i+1, len(users)))
		}
	}
	b.log.Info("reminders sent", "action", action, "by", j.Sender.OpenID,
		"sent", report.Sent, "skipped", report.Skipped, "failed", len(report.Failed))
	// A failed final update is not worth a second round: everyone would be
	// "reminded recently" by then.
	b.showRound(ctx, rc, cards.ReminderResult(lang, report))
	return nil
}

// roundCard is where a round shows how it goes: the confirm card that started it
// or, once Feishu no longer lets the bot update that one, a message of its own.
type roundCard struct {
	messageID string // "" when the round has no card
	chatID    string // the confirm card's chat; "" when the click did not say
	adminID   string // who clicked Send, told directly when the chat is unknown
	action    string
}

// showRound puts card on the round's card. A card older than 14 days cannot be
// updated: the round then sends card as a new message where the confirm card was,
// and updates that one from then on. A failure is logged, not fatal.
func (b *Bot) showRound(ctx context.Context, rc *roundCard, card cards.Card) {
	if rc.messageID == "" {
		return
	}
	_, err := b.deliver.Deliver(ctx, nil, delivery.Message{What: "progress", Update: rc.messageID, Card: card})
	if err == nil {
		return
	}
	if !delivery.VerdictOf(err).Expired {
		b.log.Warn("update card failed", "message", rc.messageID, "err", err)
		return
	}
	m := delivery.Message{What: "progress", IDType: "chat_id", To: rc.chatID, UUID: messageUUID("rc-", rc.action), Card: card}
	if rc.chatID == "" {
		m.IDType, m.To = "open_id", rc.adminID
	}
	id, err := b.deliver.Deliver(ctx, nil, m)
	if err != nil {
		b.log.Warn("card too old to update, and its replacement failed", "message", rc.messageID, "err", err)
		return
	}
	b.log.Info("card too old to update; the round goes on in a new message", "old", rc.messageID, "new", id)
	rc.messageID = id
}

// reminderUUID makes the reminder to one person in one round idempotent, so a
// round resumed after a crash does not message anyone twice.
func reminderUUID(action, userID string) string {
	sum := sha1.Sum([]byte(action + "\x00" + userID))
	return "rmd-" + hex.EncodeToString(sum[:16])
}

// pacer spaces calls at least every apart.
type pacer struct {
	every time.Duration
	next  time.Time
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// wait returns when the next call may go, or with ctx's error.
func (p *pacer) wait(ctx context.Context) error {
	now := p.now()
	if d := p.next.Sub(now); d > 0 {
		if err := p.sleep(ctx, d); err != nil {
			return err
		}
		now = p.next
	}
	p.next = now.Add(p.every)
	return nil
}
