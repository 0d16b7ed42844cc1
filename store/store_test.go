package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crashChildEnv, when set, makes the test binary act as a bot process that records
// one event and then waits to be killed (see TestRecordSurvivesSIGKILL).
const crashChildEnv = "ACSBOT_STORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		os.Exit(crashChild(path))
	}
	os.Exit(m.Run())
}

func crashChild(path string) int {
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fresh, err := s.Record(context.Background(), "om_crash", "im.message.receive_v1", []byte(`{"x":1}`), time.UnixMilli(1_700_000_000_000))
	if err != nil || !fresh {
		fmt.Fprintln(os.Stderr, "record:", fresh, err)
		return 1
	}
	// Now the webhook would answer 200. Say so, then hang until killed, never
	// closing the store.
	fmt.Println("recorded")
	select {}
}

// openTest opens a store in a fresh temporary directory, closed when the test ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "data", "acsbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func userVersion(t *testing.T, s *Store) int {
	t.Helper()
	var v int
	if err := s.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenCreatesAndMigrates(t *testing.T) {
	for _, tc := range []struct {
		name string
		rel  string
	}{
		{"nested parent directories", filepath.Join("a", "b", "acsbot.db")},
		{"URI metacharacters in the name", "we?ird#na%20me.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.rel)
			for round := range 2 { // the second Open finds the schema current
				s, err := Open(path)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if got, want := userVersion(t, s), len(schemaSteps()); got != want {
					t.Errorf("round %d: user_version = %d, want %d", round, got, want)
				}
				var mode string
				if err := s.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
					t.Errorf("round %d: journal_mode = %q, %v; want wal", round, mode, err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("database file not at the exact path: %v", err)
			}
		})
	}
}

func TestOpenMigratesOlderSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// Roll the database back to version 1 as an older build left it: the tables
	// of later versions do not exist yet.
	for _, tbl := range laterTables() {
		if _, err := s.w.Exec("DROP TABLE " + tbl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.Exec("PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(context.Background(), "om_old", "k", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := userVersion(t, s), len(schemaSteps()); got != want {
		t.Errorf("user_version = %d, want %d", got, want)
	}
	evs, err := s.Pending(context.Background())
	if err != nil || len(evs) != 1 || evs[0].Key != "om_old" {
		t.Errorf("version 1 data after migration: %+v, %v", evs, err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path to open
		want  string
	}{
		{
			name:  "empty path",
			setup: func(*testing.T, string) string { return "" },
			want:  "empty path",
		},
		{
			name:  "path is a directory",
			setup: func(_ *testing.T, dir string) string { return dir },
			want:  "is a directory",
		},
		{
			name: "file is not a database",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "garbage.db")
				writeFile(t, p, []byte(strings.Repeat("this is not an sqlite file\n", 400)))
				return p
			},
			want: "not an SQLite database",
		},
		{
			name: "parent is a file",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "plain")
				writeFile(t, p, []byte("x"))
				return filepath.Join(p, "acsbot.db")
			},
			want: "create directory",
		},
		{
			name: "read-only directory",
			setup: func(t *testing.T, dir string) string {
				ro := filepath.Join(dir, "ro")
				if err := os.Mkdir(ro, 0o500); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = os.Chmod(ro, 0o700) })
				if f, err := os.Create(filepath.Join(ro, "probe")); err == nil {
					f.Close()
					t.Skip("running with privileges that ignore directory permissions (root)")
				}
				return filepath.Join(ro, "acsbot.db")
			},
			want: "directory writable",
		},
		{
			name: "read-only database file",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "ro.db")
				s, err := Open(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, 0o400); err != nil {
					t.Fatal(err)
				}
				if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
					f.Close()
					t.Skip("running with privileges that ignore file permissions (root)")
				}
				return p
			},
			want: "read-only",
		},
		{
			name: "schema from a newer build",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "newer.db")
				s, err := Open(p)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.w.Exec("PRAGMA user_version = 999"); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				return p
			},
			want: "schema version 999 is newer",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.setup(t, t.TempDir())
			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", path)
			}
			t.Logf("Open(%q): %v", path, err)
			prefix := "open store " + path + ": "
			if path == "" {
				prefix = "open store: "
			}
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant prefix %q and %q in it", err, prefix, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestPing(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("healthy store: %v", err)
	}

	t.Run("writer held by another transaction", func(t *testing.T) {
		tx, err := s.w.BeginTx(ctx, nil) // takes the only writer connection
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := s.Ping(pctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Ping with the writer stuck = %v, want a deadline error", err)
		}
	})

	t.Run("closed store", func(t *testing.T) {
		s, err := Open(filepath.Join(t.TempDir(), "x.db"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(ctx); err == nil {
			t.Error("Ping of a closed store succeeded")
		}
	})
}

// A database that can take no more pages (here SQLite's own cap; on a host, a full
// disk) fails Record once the inbox needs a page, and from then on Ping, which the
// old probe (a row overwritten in place) never did. Room again heals both.
func TestPingFailsWhenTheDatabaseCannotGrow(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	var pages int
	if err := s.w.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// The writer is one connection, so the cap holds for every write it makes.
	if _, err := s.w.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	payload := []byte(strings.Repeat("p", 500))
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		_, full = s.Record(ctx, fmt.Sprintf("om_%03d", i), "k", payload, time.Now())
	}
	if full == nil || !strings.Contains(full.Error(), "full") {
		t.Fatalf("Record never failed on a database at its page cap: %v", full)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("Ping on a database that cannot grow = %v, want a disk full error", err)
	}
	if _, err := s.w.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages+100)); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after room was made: %v", err)
	}
	if _, err := s.Record(ctx, "om_after", "k", payload, time.Now()); err != nil {
		t.Fatalf("Record after room was made: %v", err)
	}
}

func TestIntegrityCheck(t *testing.T) {
	ctx := context.Background()
	t.Run("healthy", func(t *testing.T) {
		s := openTest(t)
		if _, err := s.Record(ctx, "om_1", "k", []byte("p"), time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.IntegrityCheck(ctx); err != nil {
			t.Error(err)
		}
	})

	t.Run("corrupted page", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.db")
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		// Enough rows that the events table and its indexes span many pages past
		// the schema and health pages.
		payload := []byte(strings.Repeat("p", 300))
		for i := range 400 {
			if _, err := s.Record(ctx, fmt.Sprintf("om_%04d", i), "k", payload, time.UnixMilli(int64(i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil { // checkpoints the WAL into the file
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		const page = 4096
		if len(b) < 20*page {
			t.Fatalf("database only %d bytes", len(b))
		}
		// Scribble over two whole pages near the end of the file, which the events
		// written last fill, so b-tree pages lose their headers; the pages the
		// start-up write probe touches sit near the start, with the schema's tables.
		from := (len(b)/page - 3) * page
		for i := from; i < from+2*page; i++ {
			b[i] = 0xA5
		}
		writeFile(t, path, b)

		s, err = Open(path)
		if err != nil {
			t.Fatalf("Open of a database with a damaged data page: %v", err)
		}
		defer s.Close()
		err = s.IntegrityCheck(ctx)
		if err == nil || !strings.Contains(err.Error(), "integrity check") {
			t.Errorf("IntegrityCheck = %v, want a failure", err)
		}
	})
}

// TestRecordSurvivesSIGKILL runs a child process that records an event and is
// killed with SIGKILL as soon as Record returns: the event must be pending when
// the store is opened again, which is what synchronous=NORMAL under WAL promises.
func TestRecordSurvivesSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "recorded\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := s.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Key != "om_crash" || string(evs[0].Payload) != `{"x":1}` {
		t.Fatalf("pending after SIGKILL = %+v, want the recorded event", evs)
	}
	fresh, err := s.Record(context.Background(), "om_crash", "im.message.receive_v1", nil, time.Now())
	if err != nil || fresh {
		t.Errorf("re-delivery after restart: fresh=%v err=%v, want a duplicate", fresh, err)
	}
}

// laterTables are the tables created after schema version 1.
func laterTables() []string {
	return []string{"subscriptions", "pushes", "day_stats", "reminders", "actions", "health_pages", "directory", "directory_users",
		"door_records", "door_days", "door_days_complete", "usage_calls", "usage_notices", "bot_identity"}
}
