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
	IDType  string // chat_id, open_id, union_id or user_id
	To      string
	Update  string
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
	fc  Sender
	log *slog.Logger
}

// New builds the stage.
func New(fc Sender, log *slog.Logger) *Stage {
	if log == nil {
		log = slog.Default()
	}
	return &Stage{fc: fc, log: log}
}

// Deliver sends m under c (nil when the caller's own work record is the claim) and
// returns the message id. On failure it returns a *Failed with Feishu's verdict;
// when no retry can help, the claim is failed with the reason first, so the caller
// only decides whether to try again (Retry) or stop a round (AppWide).
func (s *Stage) Deliver(ctx context.Context, c Claim, m Message) (string, error) {
	id, err := s.send(ctx, m)
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
