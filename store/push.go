package store

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotClaimed means FinishPush or FailPush named a (chat, day) with no push in
// flight: never claimed, or already finished.
const ErrNotClaimed Error = "store: no unfinished push claim"

// Subscription is one chat's daily summary subscription, with how its pushes went.
type Subscription struct {
	ChatID    string
	At        string    // "HH:MM", local time in push.timezone
	By        string    // the admin who set the current time
	CreatedAt time.Time // first subscribed; re-subscribing keeps it
	// LastSentDay is the local day of the last summary sent ("2026-11-25"), or ""
	// if none was; LastSentAt is when its send finished.
	LastSentDay string
	LastSentAt  time.Time
	// LastError is why the latest finished push failed; "" if it succeeded or
	// there was none.
	LastError string
	// LastStats are the statistics the last summary sent, to show the change
	// since then; nil if none was sent.
	LastStats *DayStats
}

// DayStats are one day's directory totals.
type DayStats struct {
	Day      string // "YYYY-MM-DD", local
	Total    int
	WithFace int
	NoFace   int
	NoCard   int
}

// PushClaim is a daily summary claimed for a chat and a local day.
type PushClaim struct {
	ChatID    string
	Day       string
	ClaimedAt time.Time
}

// UUID is the Feishu message uuid for this summary. It depends only on the chat and
// the day, so a send resumed after a crash carries the same uuid as the first try
// and Feishu drops the second if the first got through (within its 1 h window).
// Chat ids are too long to use whole within Feishu's 50 characters.
func (c PushClaim) UUID() string {
	sum := sha1.Sum([]byte(c.ChatID))
	return "ds-" + strings.ReplaceAll(c.Day, "-", "") + "-" + hex.EncodeToString(sum[:])[:16]
}

// Subscribe subscribes a chat to the daily summary at a local "HH:MM". Subscribing
// a subscribed chat changes its time and who set it, keeping its creation time and
// push history; a summary already sent today is not sent again at the new time.
func (s *Store) Subscribe(ctx context.Context, chatID, at, by string, now time.Time) error {
	if chatID == "" || by == "" {
		return fmt.Errorf("subscribe chat %q by %q: chat and subscriber are required", chatID, by)
	}
	if err := checkClock(at); err != nil {
		return fmt.Errorf("subscribe chat %s: %w", chatID, err)
	}
	if _, err := s.w.ExecContext(ctx, `
INSERT INTO subscriptions (chat_id, at, by_user, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT (chat_id) DO UPDATE SET at = excluded.at, by_user = excluded.by_user`,
		chatID, at, by, now.UnixMilli()); err != nil {
		return fmt.Errorf("subscribe chat %s: %w", chatID, err)
	}
	return nil
}

// Unsubscribe removes a chat's subscription (on /unsubscribe, or when the bot
// leaves the chat) and reports whether there was one. The chat's push history is
// kept: re-subscribing the same day does not bring a second summary.
func (s *Store) Unsubscribe(ctx context.Context, chatID string) (existed bool, err error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM subscriptions WHERE chat_id = ?`, chatID)
	if err != nil {
		return false, fmt.Errorf("unsubscribe chat %s: %w", chatID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("unsubscribe chat %s: %w", chatID, err)
	}
	return n == 1, nil
}

// Subscriptions lists every subscription by time of day, then chat.
func (s *Store) Subscriptions(ctx context.Context) ([]Subscription, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT s.chat_id, s.at, s.by_user, s.created_at,
       ok.day, ok.finished_at, ok.stats_day, ok.total, ok.with_face, ok.no_face, ok.no_card,
       COALESCE(last.error, '')
FROM subscriptions AS s
LEFT JOIN pushes AS ok ON ok.rowid = (
	SELECT rowid FROM pushes
	WHERE chat_id = s.chat_id AND finished_at IS NOT NULL AND error = ''
	ORDER BY day DESC, finished_at DESC LIMIT 1)
LEFT JOIN pushes AS last ON last.rowid = (
	SELECT rowid FROM pushes
	WHERE chat_id = s.chat_id AND finished_at IS NOT NULL
	ORDER BY day DESC, finished_at DESC LIMIT 1)
ORDER BY s.at, s.chat_id`)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var subs []Subscription
	for rows.Next() {
		var (
			sub                             Subscription
			created                         int64
			sentDay, statsDay               sql.NullString
			sentAt                          sql.NullInt64
			total, withFace, noFace, noCard sql.NullInt64
		)
		if err := rows.Scan(&sub.ChatID, &sub.At, &sub.By, &created,
			&sentDay, &sentAt, &statsDay, &total, &withFace, &noFace, &noCard,
			&sub.LastError); err != nil {
			return nil, fmt.Errorf("list subscriptions: %w", err)
		}
		sub.CreatedAt = time.UnixMilli(created)
		if sentDay.Valid {
			sub.LastSentDay = sentDay.String
			sub.LastSentAt = time.UnixMilli(sentAt.Int64)
			sub.LastStats = &DayStats{
				Day: statsDay.String, Total: int(total.Int64), WithFace: int(withFace.Int64),
				NoFace: int(noFace.Int64), NoCard: int(noCard.Int64),
			}
		}
		subs = append(subs, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return subs, nil
}

// BeginPush claims the daily summary of a chat for a local day, before sending it.
// It returns false if that (chat, day) was claimed before, sent or not: the claim
// is one insert, so of concurrent or repeated claims exactly one wins and a chat
// never gets two summaries a day. The winner must call FinishPush or FailPush.
func (s *Store) BeginPush(ctx context.Context, chatID, day string, now time.Time) (ok bool, err error) {
	if chatID == "" {
		return false, errors.New("begin push: empty chat id")
	}
	if err := checkDay(day); err != nil {
		return false, fmt.Errorf("begin push to %s: %w", chatID, err)
	}
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO pushes (chat_id, day, claimed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		chatID, day, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("begin push to %s for %s: %w", chatID, day, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("begin push to %s for %s: %w", chatID, day, err)
	}
	return n == 1, nil
}

// FinishPush records that the claimed summary was sent, with the statistics it
// showed: the next summary's change is computed against them.
func (s *Store) FinishPush(ctx context.Context, chatID, day string, sent DayStats, now time.Time) error {
	if err := checkDayStats(sent); err != nil {
		return fmt.Errorf("finish push to %s for %s: %w", chatID, day, err)
	}
	return s.endPush(ctx, "finish", chatID, day, `
UPDATE pushes SET finished_at = ?, error = '', stats_day = ?, total = ?, with_face = ?, no_face = ?, no_card = ?
WHERE chat_id = ? AND day = ? AND finished_at IS NULL`,
		now.UnixMilli(), sent.Day, sent.Total, sent.WithFace, sent.NoFace, sent.NoCard, chatID, day)
}

// FailPush records that the claimed summary could not be sent for good (after the
// caller's retries). The day stays claimed, and the subscription shows the reason.
func (s *Store) FailPush(ctx context.Context, chatID, day, reason string, now time.Time) error {
	if reason == "" {
		return fmt.Errorf("fail push to %s for %s: empty reason", chatID, day)
	}
	return s.endPush(ctx, "fail", chatID, day, `
UPDATE pushes SET finished_at = ?, error = ?
WHERE chat_id = ? AND day = ? AND finished_at IS NULL`,
		now.UnixMilli(), reason, chatID, day)
}

func (s *Store) endPush(ctx context.Context, verb, chatID, day, query string, args ...any) error {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s push to %s for %s: %w", verb, chatID, day, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s push to %s for %s: %w", verb, chatID, day, err)
	}
	if n == 0 {
		return fmt.Errorf("%s push to %s for %s: %w", verb, chatID, day, ErrNotClaimed)
	}
	return nil
}

// PendingPushes lists the claims of still-subscribed chats that never finished:
// the process died between BeginPush and FinishPush. Resend them with the claim's
// UUID; past an hour from ClaimedAt Feishu no longer dedupes that uuid, so whether
// to resend an old claim (risking a second card) or fail it (risking none) is the
// caller's call. Oldest first.
func (s *Store) PendingPushes(ctx context.Context) ([]PushClaim, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT p.chat_id, p.day, p.claimed_at
FROM pushes AS p JOIN subscriptions AS s ON s.chat_id = p.chat_id
WHERE p.finished_at IS NULL
ORDER BY p.claimed_at, p.chat_id`)
	if err != nil {
		return nil, fmt.Errorf("list pending pushes: %w", err)
	}
	defer rows.Close()
	var claims []PushClaim
	for rows.Next() {
		var c PushClaim
		var ms int64
		if err := rows.Scan(&c.ChatID, &c.Day, &ms); err != nil {
			return nil, fmt.Errorf("list pending pushes: %w", err)
		}
		c.ClaimedAt = time.UnixMilli(ms)
		claims = append(claims, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pending pushes: %w", err)
	}
	return claims, nil
}

// RecordDayStats stores a day's totals, replacing what that day had: written after
// every completed scan, so the day keeps its latest figures.
func (s *Store) RecordDayStats(ctx context.Context, st DayStats) error {
	if err := checkDayStats(st); err != nil {
		return fmt.Errorf("record day stats: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `
INSERT INTO day_stats (day, total, with_face, no_face, no_card) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (day) DO UPDATE SET
	total = excluded.total, with_face = excluded.with_face,
	no_face = excluded.no_face, no_card = excluded.no_card`,
		st.Day, st.Total, st.WithFace, st.NoFace, st.NoCard); err != nil {
		return fmt.Errorf("record day stats for %s: %w", st.Day, err)
	}
	return nil
}

// DayStatsSince returns the stored days from day on, ascending; days without a
// completed scan are absent, not zero.
func (s *Store) DayStatsSince(ctx context.Context, day string) ([]DayStats, error) {
	if err := checkDay(day); err != nil {
		return nil, fmt.Errorf("day stats since: %w", err)
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT day, total, with_face, no_face, no_card FROM day_stats WHERE day >= ? ORDER BY day`, day)
	if err != nil {
		return nil, fmt.Errorf("day stats since %s: %w", day, err)
	}
	defer rows.Close()
	var out []DayStats
	for rows.Next() {
		var st DayStats
		if err := rows.Scan(&st.Day, &st.Total, &st.WithFace, &st.NoFace, &st.NoCard); err != nil {
			return nil, fmt.Errorf("day stats since %s: %w", day, err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("day stats since %s: %w", day, err)
	}
	return out, nil
}

// checkDay accepts exactly "YYYY-MM-DD": days are compared as strings, so any
// other spelling of a date would sort wrongly and dodge the per-day claim.
func checkDay(day string) error {
	if len(day) != len(time.DateOnly) {
		return fmt.Errorf("day %q is not YYYY-MM-DD", day)
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return fmt.Errorf("day %q is not YYYY-MM-DD", day)
	}
	return nil
}

// checkClock accepts exactly "HH:MM" on a 24-hour clock.
func checkClock(at string) error {
	if len(at) != len("15:04") {
		return fmt.Errorf("time %q is not HH:MM", at)
	}
	if _, err := time.Parse("15:04", at); err != nil {
		return fmt.Errorf("time %q is not HH:MM", at)
	}
	return nil
}

func checkDayStats(st DayStats) error {
	if err := checkDay(st.Day); err != nil {
		return err
	}
	if st.Total < 0 || st.WithFace < 0 || st.NoFace < 0 || st.NoCard < 0 {
		return fmt.Errorf("negative count in %+v", st)
	}
	return nil
}
