package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"acsbot/acs"
)

// The Store keeps the ACS directory snapshot for acs.Directory.
var _ acs.SnapshotStore = (*Store)(nil)

// LoadDirectory returns the stored directory snapshot; ok is false when none was
// ever saved. The snapshot row and its users are read in one transaction, so a
// save running meanwhile is seen whole or not at all.
func (s *Store) LoadDirectory(ctx context.Context) (d acs.StoredDirectory, ok bool, err error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return d, false, fmt.Errorf("load directory: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var takenAt int64
	err = tx.QueryRowContext(ctx, `SELECT user_id_type, taken_at, events_missing FROM directory WHERE id = 1`).
		Scan(&d.UserIDType, &takenAt, &d.EventsMissing)
	if errors.Is(err, sql.ErrNoRows) {
		return acs.StoredDirectory{}, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("load directory: %w", err)
	}
	d.TakenAt = time.UnixMilli(takenAt)
	rows, err := tx.QueryContext(ctx, `SELECT user_id, card, face_uploaded FROM directory_users`)
	if err != nil {
		return d, false, fmt.Errorf("load directory users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u acs.User
		if err := rows.Scan(&u.ID, &u.Card, &u.FaceUploaded); err != nil {
			return d, false, fmt.Errorf("load directory users: %w", err)
		}
		d.Users = append(d.Users, u)
	}
	if err := rows.Err(); err != nil {
		return d, false, fmt.Errorf("load directory users: %w", err)
	}
	return d, true, nil
}

// SaveDirectory replaces the stored snapshot with d, in one transaction: a crash
// mid-way leaves the previous snapshot whole.
func (s *Store) SaveDirectory(ctx context.Context, d acs.StoredDirectory) error {
	if d.UserIDType == "" {
		return errors.New("save directory: empty user id type")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save directory: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `
INSERT INTO directory (id, user_id_type, taken_at, events_missing) VALUES (1, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET user_id_type = excluded.user_id_type, taken_at = excluded.taken_at,
	events_missing = excluded.events_missing`,
		d.UserIDType, d.TakenAt.UnixMilli(), d.EventsMissing); err != nil {
		return fmt.Errorf("save directory: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM directory_users`); err != nil {
		return fmt.Errorf("save directory: %w", err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO directory_users (user_id, card, face_uploaded) VALUES (?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("save directory: %w", err)
	}
	defer ins.Close()
	for _, u := range d.Users {
		if u.ID == "" {
			return errors.New("save directory: a user without an id")
		}
		if _, err := ins.ExecContext(ctx, u.ID, u.Card, u.FaceUploaded); err != nil {
			return fmt.Errorf("save directory user %s: %w", u.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save directory: %w", err)
	}
	return nil
}

// SaveDirectoryUser adds a user to the stored snapshot or replaces their values;
// the snapshot keeps its taken-at time, which dates the oldest of its data.
func (s *Store) SaveDirectoryUser(ctx context.Context, u acs.User) error {
	if u.ID == "" {
		return errors.New("save directory user: empty id")
	}
	if _, err := s.w.ExecContext(ctx, `
INSERT INTO directory_users (user_id, card, face_uploaded) VALUES (?, ?, ?)
ON CONFLICT (user_id) DO UPDATE SET card = excluded.card, face_uploaded = excluded.face_uploaded`,
		u.ID, u.Card, u.FaceUploaded); err != nil {
		return fmt.Errorf("save directory user %s: %w", u.ID, err)
	}
	return nil
}

// SetEventsMissing records whether update events seem not to arrive, so the hourly
// fallback outlives a restart. Without a stored snapshot there is nothing to mark.
func (s *Store) SetEventsMissing(ctx context.Context, missing bool) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE directory SET events_missing = ? WHERE id = 1`, missing); err != nil {
		return fmt.Errorf("set directory events missing: %w", err)
	}
	return nil
}
