package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Event is a recorded webhook delivery that has not finished yet.
type Event struct {
	Key        string // message_id, else event_id
	Kind       string // the Feishu event type, e.g. im.message.receive_v1
	Payload    []byte
	ReceivedAt time.Time // millisecond precision
	Attempts   int       // StartAttempt calls so far
}

// recordSQL records a delivery, or nothing if its key is recorded already.
const recordSQL = `INSERT INTO events (key, kind, payload, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`

// Record stores a delivery under key before the webhook answers 200, and reports
// whether the key is new. Only a fresh delivery is to be processed: a re-delivery
// of a recorded key, pending or finished, is acknowledged and ignored. The insert
// is one statement, so of any number of concurrent Records of a key exactly one is
// fresh; when Record returns, the row is committed (see Open on durability).
func (s *Store) Record(ctx context.Context, key, kind string, payload []byte, now time.Time) (fresh bool, err error) {
	if key == "" {
		return false, errors.New("record event: empty key")
	}
	if payload == nil {
		payload = []byte{}
	}
	res, err := s.w.ExecContext(ctx, recordSQL, key, kind, payload, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("record event %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record event %s: %w", key, err)
	}
	return n == 1, nil
}

// StartAttempt counts one more attempt at a pending event and returns the count,
// so a worker can give up on an event that keeps failing (or keeps crashing the
// process) after a few tries. It returns ErrNotPending if the event has finished
// and ErrNotFound if the key was never recorded (or was pruned).
func (s *Store) StartAttempt(ctx context.Context, key string) (attempts int, err error) {
	var state string
	err = s.w.QueryRowContext(ctx,
		`UPDATE events SET attempts = attempts + (state = 'pending') WHERE key = ? RETURNING attempts, state`,
		key).Scan(&attempts, &state)
	if err != nil {
		return 0, fmt.Errorf("start attempt at event %s: %w", key, noRows(err))
	}
	if state != statePending {
		return attempts, fmt.Errorf("start attempt at event %s: %w", key, ErrNotPending)
	}
	return attempts, nil
}

// MarkDone finishes an event after its reply was sent.
func (s *Store) MarkDone(ctx context.Context, key string, now time.Time) error {
	if err := s.finish(ctx, key, stateDone, "", now); err != nil {
		return fmt.Errorf("mark event %s done: %w", key, err)
	}
	return nil
}

// MarkFailed finishes an event the bot gave up on, with the reason. The key stays
// recorded, so a re-delivery is still ignored.
func (s *Store) MarkFailed(ctx context.Context, key, reason string, now time.Time) error {
	if err := s.finish(ctx, key, stateFailed, reason, now); err != nil {
		return fmt.Errorf("mark event %s failed: %w", key, err)
	}
	return nil
}

// The event states as stored.
const (
	statePending = "pending"
	stateDone    = "done"
	stateFailed  = "failed"
)

// finish moves a pending event to a final state. The first final state wins and a
// later finish is a no-op, so a worker that crashed after marking may mark again
// after a restart without error. Every SET expression sees the row as it was, so
// the CASEs all test the old state.
func (s *Store) finish(ctx context.Context, key, state, reason string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `
UPDATE events SET
	state       = CASE WHEN state = 'pending' THEN ? ELSE state END,
	reason      = CASE WHEN state = 'pending' THEN ? ELSE reason END,
	finished_at = CASE WHEN state = 'pending' THEN ? ELSE finished_at END
WHERE key = ?`, state, reason, now.UnixMilli(), key)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Pending lists the events neither done nor failed, oldest first: on start, the
// work a previous process accepted but did not finish.
func (s *Store) Pending(ctx context.Context) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT key, kind, payload, received_at, attempts FROM events WHERE state = 'pending' ORDER BY received_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("list pending events: %w", err)
	}
	defer rows.Close()
	var evs []Event
	for rows.Next() {
		var e Event
		var ms int64
		if err := rows.Scan(&e.Key, &e.Kind, &e.Payload, &ms, &e.Attempts); err != nil {
			return nil, fmt.Errorf("list pending events: %w", err)
		}
		e.ReceivedAt = time.UnixMilli(ms)
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pending events: %w", err)
	}
	return evs, nil
}

// Prune deletes the finished (done or failed) events received before before and
// returns how many. Pending events are never pruned. The caller keeps at least
// 24 h, longer than Feishu's last re-delivery (6 h), so a late re-delivery still
// finds its key.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx,
		`DELETE FROM events WHERE state <> 'pending' AND received_at < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune events before %s: %w", before.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune events before %s: %w", before.Format(time.RFC3339), err)
	}
	return n, nil
}
