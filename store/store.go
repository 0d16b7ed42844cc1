// Package store is the bot's embedded SQLite database: the event inbox that makes a
// webhook delivery run once across Feishu's retries and the bot's restarts, and the
// state behind the daily summary, reminders and confirm cards.
//
// One Store is opened in main and passed down; it is safe for concurrent use.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// Error is a sentinel error of this package; compare with errors.Is.
type Error string

func (e Error) Error() string { return string(e) }

// The sentinel errors.
const (
	// ErrNotFound means no record has the given key.
	ErrNotFound Error = "store: no such record"
	// ErrNotPending means the event was already marked done or failed, so a worker
	// must not run it again.
	ErrNotPending Error = "store: event already finished"
)

const (
	// busyTimeout bounds how long a statement waits for a lock held outside this
	// Store's writer connection (an operator's sqlite3 shell, a WAL checkpoint)
	// before it fails with SQLITE_BUSY.
	busyTimeout = 5 * time.Second
	// readConns caps the read pool. Reads are rare and short; the cap only keeps
	// a burst from opening a connection per goroutine.
	readConns = 4
	// openTimeout bounds the schema migration and probes run by Open, which has
	// no context of its own.
	openTimeout = 30 * time.Second
)

// SQLite primary result codes this package turns into clearer errors.
const (
	codeReadOnly = 8
	codeFull     = 13
	codeCantOpen = 14
	codeNotADB   = 26
)

// Store is the bot's database. Every write goes through one connection, so
// concurrent writers queue in Go (honouring their contexts) instead of spinning on
// SQLITE_BUSY; reads use a separate pool that, under WAL, never waits for a writer.
type Store struct {
	w *sql.DB // exactly one connection
	r *sql.DB // query_only connections
}

// Open opens the database at path, creating it and its parent directory if needed,
// and brings its schema up to date. Open fails if the file cannot be written, so a
// store that opens is one the webhook can record events in.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	s, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

func open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create directory: %w", err)
	}
	switch fi, err := os.Stat(path); {
	case err == nil && fi.IsDir():
		return nil, errors.New("path is a directory, not a database file")
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}

	// Durability: under WAL, synchronous=NORMAL makes a commit write its frames to
	// the WAL file before the statement returns, but it does not fsync them (that
	// happens at checkpoints). So a committed event survives the process dying in
	// any way, SIGKILL and panics included, because the bytes are already in the
	// kernel. Only an OS crash or power loss can roll back the last commits (the
	// database stays consistent); an event lost that way after its 200 is gone, as
	// Feishu will not re-deliver it. FULL would close that gap at the price of an
	// fsync on every webhook delivery; process death is the failure we design for.
	//
	// _txlock=immediate makes multi-statement transactions take the write lock at
	// BEGIN, so two of them can never deadlock upgrading from a read lock.
	w, err := sql.Open("sqlite", dsn(path, "_txlock=immediate",
		pragma("busy_timeout", busyTimeout.Milliseconds()),
		pragma("journal_mode", "WAL"),
		pragma("synchronous", "NORMAL")))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	s := &Store{w: w}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	if err := s.init(ctx, path); err != nil {
		_ = s.Close()
		return nil, explain(err)
	}
	return s, nil
}

// init checks the journal mode, migrates the schema, opens the read pool and
// proves both pools work.
func (s *Store) init(ctx context.Context, path string) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	// Some file systems (network mounts) cannot share WAL memory and SQLite then
	// silently keeps the rollback journal, losing concurrent reads and the
	// durability reasoning above.
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal (is the file on a network file system?)", mode)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	r, err := sql.Open("sqlite", dsn(path, "",
		pragma("busy_timeout", busyTimeout.Milliseconds()),
		pragma("query_only", 1)))
	if err != nil {
		return err
	}
	r.SetMaxOpenConns(readConns)
	s.r = r
	return s.Ping(ctx)
}

// dsn builds a file: URI so that a path containing '?' or '#' still names a file.
func dsn(path, extra string, pragmas ...string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := make([]string, 0, len(pragmas)+1)
	for _, p := range pragmas {
		q = append(q, "_pragma="+url.QueryEscape(p))
	}
	if extra != "" {
		q = append(q, extra)
	}
	return "file:" + esc + "?" + strings.Join(q, "&")
}

func pragma(name string, value any) string { return fmt.Sprintf("%s(%v)", name, value) }

// explain adds the likely cause to the SQLite errors an operator meets at Open.
func explain(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case codeNotADB:
		return fmt.Errorf("file is not an SQLite database: %w", err)
	case codeCantOpen:
		return fmt.Errorf("cannot open the database file (is its directory writable?): %w", err)
	case codeReadOnly:
		return fmt.Errorf("database is read-only (check file and directory permissions): %w", err)
	case codeFull:
		return fmt.Errorf("no room to write (is the disk full?): %w", err)
	}
	return err
}

// Close closes the database. Pending events stay recorded for the next Open.
func (s *Store) Close() error {
	var rerr error
	if s.r != nil {
		rerr = s.r.Close()
	}
	return errors.Join(rerr, s.w.Close())
}

// Ping is the health check. It writes through the writer connection and reads back
// through the read pool. A write is the point: a full disk, a read-only remount, a
// deleted directory or a writer stuck behind a lock all break Record while reads
// keep working. PRAGMA quick_check was rejected: it reads the whole file (cost grows
// with the database), and proves only that the data is readable, not writable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.writeProbe(ctx); err != nil {
		return fmt.Errorf("store write probe: %w", err)
	}
	var at int64
	if err := s.r.QueryRowContext(ctx, `SELECT at FROM health WHERE id = 1`).Scan(&at); err != nil {
		return fmt.Errorf("store read probe: %w", err)
	}
	return nil
}

// probeBytes makes a probe row span four pages (of 4 KiB, SQLite's default): more
// than one event needs when it splits the inbox's tables and indexes, so a Record
// that found no room means the next probe finds none either.
const probeBytes = 4 * 4096

// writeProbe stamps the health row and adds a probe row before it deletes the
// previous one, all in one commit. The new row needs pages of its own, from the free
// list or by growing the file, as the inbox does every few events; a row overwritten
// in place needs none, so a probe of that kind alone kept passing on a database
// that could not grow while Record failed.
func (s *Store) writeProbe(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO health (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`,
		time.Now().UnixMilli()); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO health_pages (pad) VALUES (zeroblob(?))`, probeBytes)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM health_pages WHERE id < ?`, id); err != nil {
		return err
	}
	return tx.Commit()
}

// IntegrityCheck runs PRAGMA integrity_check, which reads every page: meant for
// start-up or an operator's request, not for every health probe.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		problems = append(problems, line)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) == 1 && problems[0] == "ok" {
		return nil
	}
	return fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
}

// noRows turns database/sql's "no rows" into ErrNotFound, so callers need not
// import database/sql to tell a missing key from a broken database.
func noRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
