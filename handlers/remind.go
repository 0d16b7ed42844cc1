package handlers

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

	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"

	"acsbot/cards"
	"acsbot/command"
	"acsbot/feishu"
	"acsbot/store"
)

// remindConfirm answers /remind noface with a confirm card: who would get a direct
// message, and Send/Cancel buttons. Nothing is sent before an admin clicks Send.
func (s *Server) remindConfirm(ctx context.Context, j job, p command.Parsed) (cards.Card, string) {
	target := s.commands.Parse(command.Input{Text: strings.Join(p.Args, " "), DefaultLang: p.Lang})
	if !target.Known || target.Spec.Name != "noface" {
		return cards.Usage(p.Lang, p.Spec, strings.Join(p.Args, " ")), "usage"
	}
	snap, err := s.dir.Get(ctx)
	if err != nil {
		s.log.Warn("directory unavailable", "command", "remind", "err", err)
		return errorCard(p.Lang, err), "error"
	}
	return cards.ReminderConfirm(p.Lang, snap.NoFace(), s.remindActionID(j.MessageID)), "ok"
}

// remindActionID is the id the confirm card's buttons carry: a part derived from the
// command's message, so a confirm card sent again after a crash has the same id, and
// a MAC of that part keyed by the app secret, so a forged callback (plain-text events
// carry the verification token in clear) cannot make up an id that starts a round.
func (s *Server) remindActionID(messageID string) string {
	sum := sha1.Sum([]byte(messageID))
	base := hex.EncodeToString(sum[:8])
	return "rm-" + base + "-" + s.actionMAC(base)
}

func (s *Server) actionMAC(base string) string {
	m := hmac.New(sha256.New, []byte(s.cfg.Feishu.AppSecret.Value()))
	m.Write([]byte("remind:" + base))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// genuineActionID reports whether id is one remindActionID made.
func (s *Server) genuineActionID(id string) bool {
	rest, ok := strings.CutPrefix(id, "rm-")
	base, mac, cut := strings.Cut(rest, "-")
	return ok && cut && hmac.Equal([]byte(mac), []byte(s.actionMAC(base)))
}

// onReminderAction answers a click on a confirm card's Send or Cancel. Only an
// admin's click counts, and only the first click on a card: the store claims its
// action id, so a second click, a click after Cancel or a re-delivered callback
// does nothing. Send records the round and queues it; the worker sends.
func (s *Server) onReminderAction(ctx context.Context, ev *callback.CardActionTriggerEvent, ra cards.ReminderAction) (*callback.CardActionTriggerResponse, error) {
	lang := command.Lang(s.cfg.Bot.Language)
	if !s.genuineActionID(ra.ID) {
		s.metrics.Commands.WithLabelValues("remind_click", "forged").Inc()
		return unsupportedButton(lang), nil
	}
	if !s.cfg.IsAdmin(ev.Event.Operator.OpenID) {
		s.metrics.Commands.WithLabelValues("remind_click", "refused").Inc()
		return toast("error", lang, "Only access-control admins can send reminders.", "只有门禁管理员可以发送提醒。"), nil
	}
	j := job{
		Kind:       jobRemind,
		Key:        "remind:" + ra.ID,
		Sender:     ids{OpenID: ev.Event.Operator.OpenID},
		ReceivedAt: s.now(),
		Extra:      map[string]string{"action": ra.ID},
	}
	if ev.Event.Context != nil {
		j.MessageID, j.ChatID = ev.Event.Context.OpenMessageID, ev.Event.Context.OpenChatID
	}
	claimed, err := s.claimAction(ctx, ra, j)
	if err != nil {
		s.storeFailed("claim reminder action", err)
		return toast("error", lang, "Something went wrong; please click again.", "出了点问题，请再点一次。"), nil
	}
	if !claimed {
		s.metrics.Commands.WithLabelValues("remind_click", "spent").Inc()
		return toast("info", lang, "This has already been done.", "这个操作已经处理过了。"), nil
	}
	if !ra.Send {
		s.metrics.Commands.WithLabelValues("remind_click", "cancelled").Inc()
		return toast("info", lang, "Cancelled: nobody was reminded.", "已取消，没有发送任何提醒。"), nil
	}
	s.seen.SetDefault(j.Key, true)
	s.enqueue(j)
	s.metrics.Commands.WithLabelValues("remind_click", "ok").Inc()
	total := 0
	if snap := s.dir.Cached(); snap != nil {
		total = snap.Stats().NoFace
	}
	return &callback.CardActionTriggerResponse{
		Toast: toast("success", lang, "Sending reminders…", "正在发送提醒…").Toast,
		Card:  &callback.Card{Type: "raw", Data: cards.ReminderProgress(lang, 0, total)},
	}, nil
}

// claimAction spends a confirm card's buttons. Send records its round, j, in the
// same transaction: a crash between a claim and a record of their own would leave
// the card saying "already done" to every click and no round to run.
func (s *Server) claimAction(ctx context.Context, ra cards.ReminderAction, j job) (bool, error) {
	if !ra.Send {
		return s.store.ClaimAction(ctx, ra.ID, s.now(), nil)
	}
	payload, err := json.Marshal(j)
	if err != nil {
		return false, fmt.Errorf("encode reminder round: %w", err)
	}
	return s.store.ClaimAction(ctx, ra.ID, s.now(), &store.Work{Key: j.Key, Kind: j.Kind, Payload: payload})
}

// Pacing of a reminder round. Feishu allows 50 messages a second and 1000 a minute
// per app, and 5 a second to one user; one message every 100 ms stays well under
// all three, leaving room for the bot's other messages.
const (
	reminderEvery = 100 * time.Millisecond
	progressEvery = time.Second // PATCH allows 5 a second per message; once is plenty
	remindTimeout = time.Hour   // a round for 30,000 people at 10 a second
)

// errStopping leaves a round unfinished because the server is stopping; it resumes
// at the next start.
var errStopping = errors.New("server stopping")

// appWide reports whether a code refuses a reminder for a reason that is the same
// for every person (the app lacks the scope, the bot is off): the round stops at
// the first one and the card says why, instead of failing person after person.
func appWide(code int) bool {
	switch code {
	case 99991662, // app disabled
		99991672, // scope not granted
		99991673, // app not usable in the tenant
		99991676, // the token lacks the scope
		230006:   // bot ability not activated
		return true
	}
	return false
}

// remind sends a round of reminders: one direct message to each person without a
// face photo who was not reminded in the last 24 h, in acs.user_id_type, paced
// under Feishu's limits. The confirm card shows progress and ends with the result.
func (s *Server) remind(ctx context.Context, j job) error {
	lang := command.Lang(s.cfg.Bot.Language)
	snap, err := s.dir.Get(ctx)
	if err != nil {
		return err
	}
	users := snap.NoFace()
	body, err := cards.Reminder(lang).JSON()
	if err != nil {
		return err
	}
	action := j.Extra["action"]
	idType := s.cfg.ACS.UserIDType
	var report cards.ReminderReport
	pace := pacer{every: reminderEvery, now: time.Now, sleep: sleep}
	lastPatch := time.Now()
	for i, u := range users {
		select {
		case <-s.stop:
			return errStopping
		default:
		}
		ok, err := s.store.ClaimReminder(ctx, u.ID, action, s.now())
		if err != nil {
			return err
		}
		if !ok {
			report.Skipped++
			continue
		}
		if err := pace.wait(ctx); err != nil {
			_ = s.store.ReleaseReminder(context.WithoutCancel(ctx), u.ID)
			return err
		}
		if _, err := s.feishu.Send(ctx, idType, u.ID, string(body), reminderUUID(action, u.ID)); err != nil {
			if rerr := s.store.ReleaseReminder(ctx, u.ID); rerr != nil {
				s.storeFailed("release reminder", rerr)
			}
			report.Failed = append(report.Failed, cards.ReminderFailure{UserID: u.ID, Reason: failureReason(err)})
			var fe *feishu.Error
			if errors.As(err, &fe) && appWide(fe.Code) {
				for _, rest := range users[i+1:] {
					report.Failed = append(report.Failed, cards.ReminderFailure{UserID: rest.ID, Reason: "not sent: " + failureReason(err)})
				}
				s.log.Error("reminders stopped: Feishu refuses them for everyone", "id_type", idType, "err", err)
				break
			}
			continue
		}
		if err := s.store.MarkReminderSent(ctx, u.ID); err != nil {
			// Left unmarked, the reminder is sent again only if this round resumes,
			// under the same uuid, which Feishu drops within the hour.
			s.storeFailed("mark reminder sent", err)
		}
		report.Sent++
		if j.MessageID != "" && time.Since(lastPatch) >= progressEvery {
			lastPatch = time.Now()
			s.patchCard(ctx, j.MessageID, cards.ReminderProgress(lang, i+1, len(users)))
		}
	}
	s.log.Info("reminders sent", "action", action, "by", j.Sender.OpenID,
		"sent", report.Sent, "skipped", report.Skipped, "failed", len(report.Failed))
	if j.MessageID != "" {
		// A failed final patch is not worth a second round: everyone would be
		// "reminded recently" by then.
		s.patchCard(ctx, j.MessageID, cards.ReminderResult(lang, report))
	}
	return nil
}

// patchCard replaces a card the bot sent; a failure is logged, not fatal.
func (s *Server) patchCard(ctx context.Context, messageID string, card cards.Card) {
	body, err := card.JSON()
	if err == nil {
		err = s.feishu.Patch(ctx, messageID, string(body))
	}
	if err != nil {
		s.log.Warn("update card failed", "message", messageID, "err", err)
	}
}

// reminderUUID makes the reminder to one person in one round idempotent, so a
// round resumed after a crash does not message anyone twice.
func reminderUUID(action, userID string) string {
	sum := sha1.Sum([]byte(action + "\x00" + userID))
	return "rmd-" + hex.EncodeToString(sum[:16])
}

// failureReason is why a reminder failed, as the result card lists it: Feishu's
// code and message, without the operation's ids.
func failureReason(err error) string {
	var fe *feishu.Error
	if errors.As(err, &fe) && fe.Code != 0 {
		return fmt.Sprintf("%d %s", fe.Code, fe.Msg)
	}
	return err.Error()
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

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
