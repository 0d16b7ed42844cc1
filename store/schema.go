package store

import (
	"context"
	"fmt"
)

// The schema, one script per version. A released script is never edited: a new
// table or column is a new script appended to schemaSteps, so every
// database reaches the same schema by the same steps. PRAGMA user_version holds
// the number of scripts applied.
const (
	// schemaV1 is the event inbox and the health probe's row.
	schemaV1 = `
CREATE TABLE events (
	key         TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	payload     BLOB NOT NULL,
	received_at INTEGER NOT NULL, -- unix milliseconds
	attempts    INTEGER NOT NULL DEFAULT 0,
	state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
	finished_at INTEGER,
	reason      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX events_pending ON events (received_at) WHERE state = 'pending';
CREATE INDEX events_finished ON events (received_at) WHERE state <> 'pending';
CREATE TABLE health (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at INTEGER NOT NULL
) STRICT;
`

	// schemaV2 is the daily summary (subscriptions, one push claim per chat per
	// local day, daily statistics) and the one-shot claims for reminders and
	// confirm-card buttons. A push keeps what it sent, so the next summary can
	// show the change and an unsubscribed chat keeps its history.
	schemaV2 = `
CREATE TABLE subscriptions (
	chat_id    TEXT PRIMARY KEY,
	at         TEXT NOT NULL, -- "HH:MM", local time in push.timezone
	by_user    TEXT NOT NULL, -- who set the current time
	created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE pushes (
	chat_id     TEXT NOT NULL,
	day         TEXT NOT NULL, -- "YYYY-MM-DD", local
	claimed_at  INTEGER NOT NULL,
	finished_at INTEGER,       -- NULL while the send is in flight
	error       TEXT NOT NULL DEFAULT '',
	stats_day   TEXT,          -- the statistics sent; NULL unless sent
	total       INTEGER,
	with_face   INTEGER,
	no_face     INTEGER,
	no_card     INTEGER,
	PRIMARY KEY (chat_id, day)
) STRICT;
CREATE INDEX pushes_unfinished ON pushes (claimed_at) WHERE finished_at IS NULL;
CREATE TABLE day_stats (
	day       TEXT PRIMARY KEY,
	total     INTEGER NOT NULL,
	with_face INTEGER NOT NULL,
	no_face   INTEGER NOT NULL,
	no_card   INTEGER NOT NULL
) STRICT;
CREATE TABLE reminders (
	user_id TEXT PRIMARY KEY,
	at      INTEGER NOT NULL -- unix milliseconds of the last claimed reminder
) STRICT;
CREATE TABLE actions (
	action_id TEXT PRIMARY KEY,
	at        INTEGER NOT NULL
) STRICT;
`

	// schemaV3 is a table whose rows are larger than a page, so every health probe
	// needs a page of its own (see Ping).
	schemaV3 = `
CREATE TABLE health_pages (
	id  INTEGER PRIMARY KEY,
	pad BLOB NOT NULL
) STRICT;
`

	// schemaV4 remembers which round of reminders claimed a person and whether the
	// reminder went out, so a round cut short between claiming someone and sending
	// (a crash) sends it when it resumes, instead of skipping the person for 24 h.
	// Claims made before this version count as sent, as they always did.
	schemaV4 = `
ALTER TABLE reminders ADD COLUMN round TEXT NOT NULL DEFAULT '';
ALTER TABLE reminders ADD COLUMN sent INTEGER NOT NULL DEFAULT 1;
`

	// schemaV5 is the ACS directory snapshot, so a restart serves it instead of
	// reading every page again: one row saying what the snapshot is, and its users.
	// A full read replaces the users; an update event changes one row.
	schemaV5 = `
CREATE TABLE directory (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	user_id_type   TEXT NOT NULL,    -- the id type of directory_users.user_id
	taken_at       INTEGER NOT NULL, -- unix milliseconds: when the full read began
	events_missing INTEGER NOT NULL DEFAULT 0 -- 1: a full read found changes no event announced
) STRICT;
CREATE TABLE directory_users (
	user_id       TEXT PRIMARY KEY,
	card          INTEGER NOT NULL, -- 0: no card
	face_uploaded INTEGER NOT NULL
) STRICT;
`

	// schemaUsage is the meter of Feishu API calls: this month's successful calls by
	// local day and kind, so a restart does not reset /usage (a few hundred rows a
	// month, never pruned: a year of them is smaller than one directory snapshot);
	// the month's one-off notices (the 80 % quota warning), claimed once; and the
	// bot's own open_id, asked of Feishu once per app instead of at every start.
	schemaUsage = `
CREATE TABLE usage_calls (
	day  TEXT NOT NULL, -- "YYYY-MM-DD", local in push.timezone
	kind TEXT NOT NULL, -- usage.Kind
	n    INTEGER NOT NULL,
	PRIMARY KEY (day, kind)
) STRICT;
CREATE TABLE usage_notices (
	month TEXT NOT NULL, -- "YYYY-MM", local
	what  TEXT NOT NULL,
	at    INTEGER NOT NULL, -- unix milliseconds
	PRIMARY KEY (month, what)
) STRICT;
CREATE TABLE bot_identity (
	app_id  TEXT PRIMARY KEY,
	open_id TEXT NOT NULL
) STRICT;
`
)

// schemaDoors is the door records (from events, and from the list for a day
// not heard whole), their counts by local day and device, kept with them so a
// day's counts read a row per door rather than every record, and the days known
// to be stored whole, so no day is read from Feishu twice.
const schemaDoors = `
CREATE TABLE door_records (
	record_id TEXT PRIMARY KEY,
	at        INTEGER NOT NULL, -- unix seconds
	user_id   TEXT NOT NULL,    -- in acs.user_id_type
	device_id TEXT NOT NULL,
	kind      INTEGER NOT NULL  -- 1: opened the door, 2: clock-in, 3: both
) STRICT, WITHOUT ROWID;
CREATE INDEX door_records_at ON door_records (at);
CREATE INDEX door_records_user ON door_records (user_id, at);
CREATE TABLE door_days (
	day        TEXT NOT NULL, -- "YYYY-MM-DD", local
	device_id  TEXT NOT NULL,
	opened     INTEGER NOT NULL,
	clock_only INTEGER NOT NULL, -- clock-ins that opened no door
	last_open  INTEGER NOT NULL, -- unix seconds of the day's last opening; 0: none
	PRIMARY KEY (day, device_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE door_days_complete (
	day TEXT PRIMARY KEY,
	how TEXT NOT NULL,   -- heard (from events) or read (from the list)
	at  INTEGER NOT NULL -- unix milliseconds
) STRICT;
`

// schemaSteps lists the scripts in order: script i moves version i to i+1.
func schemaSteps() []string {
	return []string{schemaV1, schemaV2, schemaV3, schemaV4, schemaV5, schemaDoors, schemaUsage}
}

// migrate applies the scripts the database has not seen yet, all in one
// transaction: a crash mid-way leaves the old version intact. The version is read
// inside the write transaction, so two processes opening one file cannot both
// apply a step.
func (s *Store) migrate(ctx context.Context) error {
	steps := schemaSteps()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin schema migration: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(steps) {
		return fmt.Errorf("schema version %d is newer than this build knows (%d): refusing to use it", v, len(steps))
	}
	if v == len(steps) {
		return nil
	}
	for i := v; i < len(steps); i++ {
		if _, err := tx.ExecContext(ctx, steps[i]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no bound parameters; len(steps) is ours, not input.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(steps))); err != nil {
		return fmt.Errorf("set schema version %d: %w", len(steps), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit schema version %d: %w", len(steps), err)
	}
	return nil
}
