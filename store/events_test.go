package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// t0 is an arbitrary fixed instant; tests move time by adding to it.
var t0 = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

func TestRecordDedupe(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for _, tc := range []struct {
		name      string
		key       string
		wantFresh bool
	}{
		{"first delivery", "om_a", true},
		{"re-delivery", "om_a", false},
		{"another key", "om_b", true},
		{"keys are case sensitive", "OM_A", true},
		{"third delivery", "om_a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh, err := s.Record(ctx, tc.key, "im.message.receive_v1", []byte(tc.name), t0)
			if err != nil {
				t.Fatal(err)
			}
			if fresh != tc.wantFresh {
				t.Errorf("Record(%q) fresh = %v, want %v", tc.key, fresh, tc.wantFresh)
			}
		})
	}

	t.Run("re-delivery of a finished event", func(t *testing.T) {
		if err := s.MarkDone(ctx, "om_b", t0); err != nil {
			t.Fatal(err)
		}
		fresh, err := s.Record(ctx, "om_b", "im.message.receive_v1", nil, t0.Add(6*time.Hour))
		if err != nil || fresh {
			t.Errorf("fresh=%v err=%v, want a duplicate", fresh, err)
		}
	})

	t.Run("empty key", func(t *testing.T) {
		if _, err := s.Record(ctx, "", "k", nil, t0); err == nil {
			t.Error("Record with an empty key succeeded")
		}
	})

	t.Run("first payload is kept", func(t *testing.T) {
		evs, err := s.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(evs, func(e Event) bool { return e.Key == "om_a" })
		if i < 0 || string(evs[i].Payload) != "first delivery" {
			t.Errorf("pending om_a = %+v", evs)
		}
	})
}

func TestRecordConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for _, tc := range []struct {
		name      string
		keys      func(i int) string
		wantFresh int
	}{
		{"20 deliveries of one event", func(int) string { return "om_same" }, 1},
		{"20 distinct events", func(i int) string { return fmt.Sprintf("om_%d", i) }, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := countWins(t, 20, func(i int) (bool, error) {
				return s.Record(ctx, tc.keys(i), "k", nil, t0)
			})
			if fresh != tc.wantFresh {
				t.Errorf("%d fresh, want %d", fresh, tc.wantFresh)
			}
		})
	}
}

func TestPendingSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "acsbot.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// Recorded out of order; Pending sorts by arrival, ties in recording order.
	for _, r := range []struct {
		key string
		at  time.Duration
	}{
		{"om_late", 3 * time.Minute},
		{"om_first", 0},
		{"om_done", time.Minute},
		{"om_tie_a", 2 * time.Minute},
		{"om_tie_b", 2 * time.Minute},
		{"om_failed", time.Minute},
	} {
		if _, err := s.Record(ctx, r.key, "im.message.receive_v1", []byte("payload of "+r.key), t0.Add(r.at)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.StartAttempt(ctx, "om_late"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDone(ctx, "om_done", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, "om_failed", "too many attempts", t0); err != nil {
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
	got, err := s.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Key: "om_first", ReceivedAt: t0},
		{Key: "om_tie_a", ReceivedAt: t0.Add(2 * time.Minute)},
		{Key: "om_tie_b", ReceivedAt: t0.Add(2 * time.Minute)},
		{Key: "om_late", ReceivedAt: t0.Add(3 * time.Minute), Attempts: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("Pending = %+v\nwant %+v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.Key != w.Key || !g.ReceivedAt.Equal(w.ReceivedAt) || g.Attempts != w.Attempts ||
			g.Kind != "im.message.receive_v1" || string(g.Payload) != "payload of "+w.Key {
			t.Errorf("Pending[%d] = %+v, want %+v with its kind and payload", i, g, w)
		}
	}
}

func TestStartAttempt(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for _, k := range []string{"om_p", "om_done", "om_failed"} {
		if _, err := s.Record(ctx, k, "k", nil, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkDone(ctx, "om_done", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, "om_failed", "gave up", t0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		key     string
		want    int
		wantErr error
	}{
		{"first attempt", "om_p", 1, nil},
		{"second attempt", "om_p", 2, nil},
		{"third attempt", "om_p", 3, nil},
		{"done event", "om_done", 0, ErrNotPending},
		{"failed event", "om_failed", 0, ErrNotPending},
		{"unknown key", "om_nope", 0, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.StartAttempt(ctx, tc.key)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && got != tc.want {
				t.Errorf("attempts = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFinish(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	state := func(key string) (state, reason string) {
		t.Helper()
		if err := s.r.QueryRow(`SELECT state, reason FROM events WHERE key = ?`, key).Scan(&state, &reason); err != nil {
			t.Fatal(err)
		}
		return state, reason
	}
	for _, tc := range []struct {
		name       string
		marks      []func(key string) error // applied in order
		wantState  string
		wantReason string
	}{
		{"done", []func(string) error{
			func(k string) error { return s.MarkDone(ctx, k, t0) },
		}, stateDone, ""},
		{"failed", []func(string) error{
			func(k string) error { return s.MarkFailed(ctx, k, "reply rejected: 230002", t0) },
		}, stateFailed, "reply rejected: 230002"},
		{"done twice, after a restart", []func(string) error{
			func(k string) error { return s.MarkDone(ctx, k, t0) },
			func(k string) error { return s.MarkDone(ctx, k, t0.Add(time.Minute)) },
		}, stateDone, ""},
		{"the first final state wins", []func(string) error{
			func(k string) error { return s.MarkDone(ctx, k, t0) },
			func(k string) error { return s.MarkFailed(ctx, k, "late", t0) },
		}, stateDone, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "om_" + tc.name
			if _, err := s.Record(ctx, key, "k", nil, t0); err != nil {
				t.Fatal(err)
			}
			for _, mark := range tc.marks {
				if err := mark(key); err != nil {
					t.Fatal(err)
				}
			}
			if st, reason := state(key); st != tc.wantState || reason != tc.wantReason {
				t.Errorf("state, reason = %q, %q; want %q, %q", st, reason, tc.wantState, tc.wantReason)
			}
		})
	}

	t.Run("unknown key", func(t *testing.T) {
		if err := s.MarkDone(ctx, "om_nope", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("MarkDone = %v, want ErrNotFound", err)
		}
		if err := s.MarkFailed(ctx, "om_nope", "x", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("MarkFailed = %v, want ErrNotFound", err)
		}
	})
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	cutoff := t0.Add(-24 * time.Hour)
	type rec struct {
		key    string
		age    time.Duration // before t0
		finish string        // "", stateDone or stateFailed
	}
	recs := []rec{
		{"om_old_done", 48 * time.Hour, stateDone},
		{"om_old_failed", 25 * time.Hour, stateFailed},
		{"om_old_pending", 72 * time.Hour, ""},
		{"om_recent_done", time.Hour, stateDone},
		{"om_at_cutoff_done", 24 * time.Hour, stateDone}, // not before the cutoff
		{"om_recent_pending", time.Minute, ""},
	}
	for _, r := range recs {
		if _, err := s.Record(ctx, r.key, "k", nil, t0.Add(-r.age)); err != nil {
			t.Fatal(err)
		}
		var err error
		switch r.finish {
		case stateDone:
			err = s.MarkDone(ctx, r.key, t0)
		case stateFailed:
			err = s.MarkFailed(ctx, r.key, "x", t0)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Prune(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("pruned %d, want 2", n)
	}
	for _, tc := range []struct {
		key  string
		kept bool
	}{
		{"om_old_done", false},
		{"om_old_failed", false},
		{"om_old_pending", true},
		{"om_recent_done", true},
		{"om_at_cutoff_done", true},
		{"om_recent_pending", true},
	} {
		t.Run(tc.key, func(t *testing.T) {
			// A kept key still dedupes; a pruned one is forgotten.
			fresh, err := s.Record(ctx, tc.key, "k", nil, t0)
			if err != nil {
				t.Fatal(err)
			}
			if fresh == tc.kept {
				t.Errorf("after prune, Record fresh = %v; want kept = %v", fresh, tc.kept)
			}
		})
	}
}

func BenchmarkRecordMarkDone(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	payload := make([]byte, 2048) // a typical encrypted im.message.receive_v1 body
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			key := fmt.Sprintf("om_serial_%d", i)
			i++
			if _, err := s.Record(ctx, key, "im.message.receive_v1", payload, t0); err != nil {
				b.Fatal(err)
			}
			if err := s.MarkDone(ctx, key, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var mu sync.Mutex
		next := 0
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				key := fmt.Sprintf("om_parallel_%d", next)
				next++
				mu.Unlock()
				if _, err := s.Record(ctx, key, "im.message.receive_v1", payload, t0); err != nil {
					b.Fatal(err)
				}
				if err := s.MarkDone(ctx, key, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
