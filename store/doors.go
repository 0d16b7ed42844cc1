package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"acsbot/doors"
)

// The Store keeps door records for doors.Service.
var _ doors.Store = (*Store)(nil)

// Bits of door_records.kind.
const (
	kindDoorOpen = 1
	kindClockIn  = 2
)

// AddRecords stores the records whose ids it does not hold, and counts each new
// one under its day and device, all in one transaction: the counts never disagree
// with the records, however a record arrives (an event, a re-delivery, a read).
func (s *Store) AddRecords(ctx context.Context, recs []doors.DayRecord) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("add door records: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO door_records (record_id, at, user_id, device_id, kind) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("add door records: %w", err)
	}
	defer ins.Close()
	count, err := tx.PrepareContext(ctx, `
INSERT INTO door_days (day, device_id, opened, clock_only, last_open) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (day, device_id) DO UPDATE SET opened = opened + excluded.opened,
	clock_only = clock_only + excluded.clock_only, last_open = max(last_open, excluded.last_open)`)
	if err != nil {
		return 0, fmt.Errorf("add door records: %w", err)
	}
	defer count.Close()
	added := 0
	for _, r := range recs {
		kind, opened, clockOnly, lastOpen := 0, 0, 0, int64(0)
		if r.DoorOpen {
			kind, opened, lastOpen = kind|kindDoorOpen, 1, r.At.Unix()
		}
		if r.ClockIn {
			kind |= kindClockIn
			if !r.DoorOpen {
				clockOnly = 1
			}
		}
		res, err := ins.ExecContext(ctx, r.ID, r.At.Unix(), r.UserID, r.DeviceID, kind)
		if err != nil {
			return 0, fmt.Errorf("add door record %s: %w", r.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			continue // stored before
		}
		if _, err := count.ExecContext(ctx, r.Day, r.DeviceID, opened, clockOnly, lastOpen); err != nil {
			return 0, fmt.Errorf("count door record %s: %w", r.ID, err)
		}
		added++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("add door records: %w", err)
	}
	return added, nil
}

// DayCounts are the day's counts by device, in device id order.
func (s *Store) DayCounts(ctx context.Context, day string) ([]doors.DoorDay, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT device_id, opened, clock_only FROM door_days WHERE day = ? ORDER BY device_id`, day)
	if err != nil {
		return nil, fmt.Errorf("door counts of %s: %w", day, err)
	}
	defer rows.Close()
	var out []doors.DoorDay
	for rows.Next() {
		var d doors.DoorDay
		if err := rows.Scan(&d.DeviceID, &d.Opened, &d.ClockOnly); err != nil {
			return nil, fmt.Errorf("door counts of %s: %w", day, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("door counts of %s: %w", day, err)
	}
	return out, nil
}

// PersonRecords are userID's records in [from, to), oldest first.
func (s *Store) PersonRecords(ctx context.Context, userID string, from, to time.Time) ([]doors.Record, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT record_id, at, device_id, kind FROM door_records WHERE user_id = ? AND at >= ? AND at < ? ORDER BY at, record_id`,
		userID, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("door records of %s: %w", userID, err)
	}
	defer rows.Close()
	var out []doors.Record
	for rows.Next() {
		r := doors.Record{UserID: userID}
		var at int64
		var kind int
		if err := rows.Scan(&r.ID, &at, &r.DeviceID, &kind); err != nil {
			return nil, fmt.Errorf("door records of %s: %w", userID, err)
		}
		r.At, r.DoorOpen, r.ClockIn = time.Unix(at, 0), kind&kindDoorOpen != 0, kind&kindClockIn != 0
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("door records of %s: %w", userID, err)
	}
	return out, nil
}

// LastOpened is, per device, the last stored record that opened its door; it
// reads the day counts, a row per device and day, not the records.
func (s *Store) LastOpened(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT device_id, max(last_open) FROM door_days WHERE last_open > 0 GROUP BY device_id`)
	if err != nil {
		return nil, fmt.Errorf("last door openings: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("last door openings: %w", err)
		}
		out[id] = time.Unix(at, 0)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("last door openings: %w", err)
	}
	return out, nil
}

// DayComplete reports whether the day is stored as whole.
func (s *Store) DayComplete(ctx context.Context, day string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM door_days_complete WHERE day = ?`, day).Scan(&one)
	switch {
	case err == sql.ErrNoRows:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("door day %s: %w", day, err)
	}
	return true, nil
}

// MarkDayComplete stores the day as whole; the first mark stands.
func (s *Store) MarkDayComplete(ctx context.Context, day, how string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO door_days_complete (day, how, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		day, how, at.UnixMilli()); err != nil {
		return fmt.Errorf("mark door day %s: %w", day, err)
	}
	return nil
}

// PruneRecords deletes the records before t, and the counts and marks of the days
// before day.
func (s *Store) PruneRecords(ctx context.Context, t time.Time, day string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("prune door records: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []struct {
		sql string
		arg any
	}{
		{`DELETE FROM door_records WHERE at < ?`, t.Unix()},
		{`DELETE FROM door_days WHERE day < ?`, day},
		{`DELETE FROM door_days_complete WHERE day < ?`, day},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.arg); err != nil {
			return fmt.Errorf("prune door records: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("prune door records: %w", err)
	}
	return nil
}
