// Package delivery is the one stage every card the bot sends goes through: replies,
// daily summaries, reminders, welcomes and card updates. A piece of work is claimed
// by its caller, sent with a uuid so a resend after a crash shows once, and then
// marked done, or failed with a reason when no retry can help. The retry limit of a
// piece of work, and the wait between its attempts, live here too.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"acsbot/clock"
	"acsbot/feishu"
)

// MaxAttempts bounds how often one piece of work is tried, so a poisonous event or a
// chat that keeps failing cannot loop for ever, across restarts too.
const MaxAttempts = 5

// Exhausted reports whether work tried this many times is to be given up.
func Exhausted(tried int) bool { return tried >= MaxAttempts }

// firstBackoff is the wait after a piece of work's first failed attempt, when it is
// retried on a schedule rather than at the next housekeeping round.
const firstBackoff = time.Minute

// Backoff is the wait after the n-th failed attempt: 1, 2, 4 and 8 minutes.
func Backoff(n int) time.Duration { return firstBackoff << max(n-1, 0) }

// Card is a card that can be encoded as Feishu's JSON 2.0.
type Card interface {
	JSON() ([]byte, error)
}

// Message is one card to deliver: a reply (ReplyTo), a new message (IDType, To) or
// an update of a card the bot sent (Update).
type Message struct {
	// What names the work in logs, e.g. "reply", "summary", "reminder", "progress".
	What    string
	ReplyTo string
	// Chat is the chat a reply goes to, so it is paced with that chat's other
	// messages; "" when not known.
	Chat   string
	IDType string // chat_id, open_id, union_id or user_id
	To     string
	Update string
	// UUID makes a reply or a new message idempotent for an hour on Feishu's side.
	UUID string
	Card Card
}

// Claim records the fate of one delivery. The caller made the claim; the stage ends it.
type Claim interface {
	// Done records that Feishu took the message.
	Done(ctx context.Context) error
	// Fail records that it will not be sent, and why; a passing failure is not
	// recorded, so the caller's next attempt takes it again.
	Fail(ctx context.Context, reason string) error
}

// Failed is a delivery that did not happen, with Feishu's verdict on it.
type Failed struct {
	What    string
	Verdict feishu.Verdict
	Err     error
}

func (f *Failed) Error() string { return fmt.Sprintf("deliver %s: %v", f.What, f.Err) }

func (f *Failed) Unwrap() error { return f.Err }

// VerdictOf is the verdict on a delivery's error; a zero verdict for nil.
func VerdictOf(err error) feishu.Verdict {
	var f *Failed
	if errors.As(err, &f) {
		return f.Verdict
	}
	return feishu.VerdictOf(err)
}

// Sender is the part of the Feishu client the stage uses.
type Sender interface {
	Reply(ctx context.Context, messageID, cardJSON, uuid string) (string, error)
	Send(ctx context.Context, receiveIDType, receiveID, cardJSON, uuid string) (string, error)
	Patch(ctx context.Context, messageID, cardJSON string) error
}

// Stage sends cards and ends their claims.
type Stage struct {
	fc   Sender
	log  *slog.Logger
	pace *pacer
}

// New builds the stage.
func New(fc Sender, log *slog.Logger) *Stage {
	if log == nil {
		log = slog.Default()
	}
	return &Stage{fc: fc, log: log, pace: newPacer(targetEvery)}
}

// Deliver sends m under c (nil when the caller's own work record is the claim) and
// returns the message id. It paces m with the other messages to its chat or person,
// and waits out a refusal that is only for now (a rate limit, a card locked by a
// click). On failure it returns a *Failed with Feishu's verdict; when no retry can
// help, the claim is failed with the reason first, so the caller only decides
// whether to try again (Retry) or stop a round (AppWide).
func (s *Stage) Deliver(ctx context.Context, c Claim, m Message) (string, error) {
	id, err := s.sendPaced(ctx, m)
	if err == nil {
		if c != nil {
			if derr := c.Done(context.WithoutCancel(ctx)); derr != nil {
				// Sent but not recorded: the work is tried again under the same uuid,
				// which Feishu drops.
				s.log.Error("delivered but not recorded", "what", m.What, "err", derr)
			}
		}
		return id, nil
	}
	v := feishu.VerdictOf(err)
	if !v.Retry {
		s.log.Warn("card refused by Feishu; not retried", "what", m.What, "err", err)
		if c != nil {
			if ferr := c.Fail(context.WithoutCancel(ctx), v.Reason); ferr != nil {
				s.log.Error("record a failed delivery", "what", m.What, "err", ferr)
			}
		}
	}
	return "", &Failed{What: m.What, Verdict: v, Err: err}
}

// Retry reports whether err, a delivery's failure, is worth another attempt later.
func Retry(err error) bool { return err != nil && VerdictOf(err).Retry }

// Feishu takes 5 messages a second to one chat (shared by all bots in it) and 5 to
// one person, and 5 updates a second of one message (feishu-platform.md §5.1, §5.3).
// The stage spaces the messages to each a little wider than that, so a request that
// reaches Feishu late does not make the next one the sixth in a second.
const targetEvery = 220 * time.Millisecond

// waitBudget bounds how long one delivery waits out passing refusals: a card is
// locked at most until Feishu gives up on the click's answer (3 s), and a rate limit
// lasts a second. Past it the caller's own retry takes over.
const waitBudget = 5 * time.Second

// sendPaced sends m in its turn, and again after a pause while Feishu refuses it
// only for now: rate limited, or a card locked while a click on it is answered.
func (s *Stage) sendPaced(ctx context.Context, m Message) (string, error) {
	give := time.Now().Add(waitBudget)
	for {
		if err := s.pace.wait(ctx, m.targets()); err != nil {
			return "", fmt.Errorf("wait for the turn of %s: %w", m.What, err)
		}
		id, err := s.send(ctx, m)
		if err == nil {
			return id, nil
		}
		v := feishu.VerdictOf(err)
		limited := feishu.ClassOf(err) == feishu.RateLimited
		if !v.Locked && !limited {
			return "", err
		}
		wait := max(v.After, time.Second)
		if v.Locked {
			wait = v.After
		}
		if time.Now().Add(wait).After(give) {
			return "", err
		}
		s.log.Debug("card refused for now; trying again", "what", m.What, "locked", v.Locked, "wait", wait, "err", err)
		if serr := clock.Sleep(ctx, wait); serr != nil {
			return "", err
		}
	}
}

// targets are the chat, person or message whose rate m counts against.
func (m Message) targets() []string {
	switch {
	case m.Update != "":
		return []string{"message:" + m.Update}
	case m.ReplyTo != "":
		if m.Chat == "" {
			return nil
		}
		return []string{"chat_id:" + m.Chat}
	default:
		return []string{m.IDType + ":" + m.To}
	}
}

func (s *Stage) send(ctx context.Context, m Message) (string, error) {
	body, err := m.Card.JSON()
	if err != nil {
		return "", &feishu.Error{Op: "build " + m.What + " card", Class: feishu.Permanent, Err: err}
	}
	switch {
	case m.ReplyTo != "":
		return s.fc.Reply(ctx, m.ReplyTo, string(body), m.UUID)
	case m.Update != "":
		return m.Update, s.fc.Patch(ctx, m.Update, string(body))
	default:
		return s.fc.Send(ctx, m.IDType, m.To, string(body), m.UUID)
	}
}
