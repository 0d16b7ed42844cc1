package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"acsbot/usage"
)

// The Store keeps the meter's counts and notices for usage.Meter.
var _ usage.Store = (*Store)(nil)

// UsageOfMonth returns the stored call counts of every day of month ("2006-01").
func (s *Store) UsageOfMonth(ctx context.Context, month string) ([]usage.Count, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT day, kind, n FROM usage_calls WHERE day >= ? AND day <= ? ORDER BY day, kind`,
		month+"-01", month+"-31")
	if err != nil {
		return nil, fmt.Errorf("load usage of %s: %w", month, err)
	}
	defer rows.Close()
	var out []usage.Count
	for rows.Next() {
		var c usage.Count
		if err := rows.Scan(&c.Day, &c.Kind, &c.N); err != nil {
			return nil, fmt.Errorf("load usage of %s: %w", month, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load usage of %s: %w", month, err)
	}
	return out, nil
}

// AddUsage adds counts to the stored ones, in one transaction.
func (s *Store) AddUsage(ctx context.Context, counts []usage.Count) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, c := range counts {
		if _, err := tx.ExecContext(ctx, `
INSERT INTO usage_calls (day, kind, n) VALUES (?, ?, ?)
ON CONFLICT (day, kind) DO UPDATE SET n = n + excluded.n`, c.Day, string(c.Kind), c.N); err != nil {
			return fmt.Errorf("add usage: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	return nil
}

// ClaimUsageNotice claims the notice what of month; false when it was claimed before.
func (s *Store) ClaimUsageNotice(ctx context.Context, month, what string, at time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO usage_notices (month, what, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		month, what, at.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("claim usage notice %s of %s: %w", what, month, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim usage notice %s of %s: %w", what, month, err)
	}
	return n == 1, nil
}

// BotOpenID returns the bot's open_id stored for appID; ok is false when none is.
func (s *Store) BotOpenID(ctx context.Context, appID string) (openID string, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT open_id FROM bot_identity WHERE app_id = ?`, appID).Scan(&openID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("load bot identity: %w", err)
	}
	return openID, true, nil
}

// SaveBotOpenID stores the bot's open_id for appID.
func (s *Store) SaveBotOpenID(ctx context.Context, appID, openID string) error {
	if _, err := s.w.ExecContext(ctx, `
INSERT INTO bot_identity (app_id, open_id) VALUES (?, ?)
ON CONFLICT (app_id) DO UPDATE SET open_id = excluded.open_id`, appID, openID); err != nil {
		return fmt.Errorf("save bot identity: %w", err)
	}
	return nil
}
