package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// reminderGap is the least time between two reminders to one person.
const reminderGap = 24 * time.Hour

// ClaimReminder claims the right to remind a person now, in the round of
// reminders named round (the confirm card's action id). It returns false if the
// person was reminded less than 24 h before now (or, after a clock step back,
// "after" now), or is claimed by another round. A claim of this same round not yet
// marked sent is given again: the round was cut short between claiming and sending,
// and resends under the same Feishu uuid, which Feishu drops if the first send did
// go out. The check and the claim are one upsert, so concurrent rounds cannot both
// win. Call MarkReminderSent once the reminder went out, ReleaseReminder if it
// could not be sent.
func (s *Store) ClaimReminder(ctx context.Context, userID, round string, now time.Time) (ok bool, err error) {
	if userID == "" || round == "" {
		return false, fmt.Errorf("claim reminder for %q in round %q: user and round are required", userID, round)
	}
	// On conflict the WHERE decides: with it false, nothing changes and no row
	// counts as affected.
	res, err := s.w.ExecContext(ctx, `
INSERT INTO reminders (user_id, at, round, sent) VALUES (?, ?, ?, 0)
ON CONFLICT (user_id) DO UPDATE SET at = excluded.at, round = excluded.round, sent = 0
WHERE reminders.at <= excluded.at - ? OR (reminders.round = excluded.round AND reminders.sent = 0)`,
		userID, now.UnixMilli(), round, reminderGap.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("claim reminder for %s: %w", userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim reminder for %s: %w", userID, err)
	}
	return n == 1, nil
}

// MarkReminderSent records that a claimed reminder went out, so its round does not
// send it again when it resumes.
func (s *Store) MarkReminderSent(ctx context.Context, userID string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE reminders SET sent = 1 WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("mark reminder for %s sent: %w", userID, err)
	}
	return nil
}

// ReleaseReminder gives back a claim whose reminder was not sent, so a later run may
// remind the person. Forgetting the person entirely is right: a claim only
// succeeds when the previous reminder is at least 24 h old.
func (s *Store) ReleaseReminder(ctx context.Context, userID string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM reminders WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("release reminder for %s: %w", userID, err)
	}
	return nil
}

// Work is what a claimed card action starts, recorded in the inbox as Record
// records a delivery: pending until the worker marks it done.
type Work struct {
	Key, Kind string
	Payload   []byte // required: the job as the worker reads it back
}

// ClaimAction claims a one-shot card action, such as a confirm card's Send button,
// by an id the card carries. Only the first claim of an id returns true, so a
// second click, a concurrent click or a re-delivered callback does nothing.
// Claims are kept for good: an old card's button stays spent.
//
// With work, the claim and the work's inbox record are one transaction: a crash
// between two commits would leave the button spent and the work never done, and
// Feishu does not re-deliver a card callback. A claim that loses records nothing.
func (s *Store) ClaimAction(ctx context.Context, actionID string, now time.Time, work *Work) (ok bool, err error) {
	if actionID == "" {
		return false, errors.New("claim action: empty action id")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("claim action %s: %w", actionID, err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx,
		`INSERT INTO actions (action_id, at) VALUES (?, ?) ON CONFLICT DO NOTHING`,
		actionID, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("claim action %s: %w", actionID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim action %s: %w", actionID, err)
	}
	if n == 0 {
		return false, nil
	}
	if work != nil {
		if _, err := tx.ExecContext(ctx, recordSQL, work.Key, work.Kind, work.Payload, now.UnixMilli()); err != nil {
			return false, fmt.Errorf("claim action %s: record %s: %w", actionID, work.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("claim action %s: %w", actionID, err)
	}
	return true, nil
}
