package inbox

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"acsbot/delivery"
	"acsbot/metrics"
	"acsbot/store"
)

// runner is the work behind the inbox in these tests: it counts what it ran and
// fails or blocks where a test asks it to.
type runner struct {
	mu    sync.Mutex
	ran   map[string]int
	fail  error         // returned by every run
	block chan struct{} // when set, a queued run waits on it
}

func (r *runner) Run(ctx context.Context, j Job) error {
	if r.block != nil && j.Kind == KindMessage {
		select {
		case <-r.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran[j.Key]++
	return r.fail
}

func (r *runner) Queued(kind string) (time.Duration, bool) {
	return 5 * time.Second, kind == KindMessage
}

func (r *runner) Tidy() {}

func (r *runner) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ran[key]
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func start(t *testing.T, st *store.Store, r *runner) *Inbox {
	t.Helper()
	ib := New(Deps{Store: st, Metrics: metrics.New(), Logger: quiet, Workers: 2})
	ib.Start(r)
	t.Cleanup(func() { _ = ib.Stop(context.Background()) })
	return ib
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func state(t *testing.T, st *store.Store, key string) string {
	t.Helper()
	pending, err := st.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pending {
		if e.Key == key {
			return "pending"
		}
	}
	return "finished"
}

func TestAcceptRunsEachJobOnce(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "inbox.db"))
	r := &runner{ran: map[string]int{}}
	ib := start(t, st, r)
	ctx := context.Background()
	for range 3 { // Feishu re-delivers
		ib.Accept(ctx, Job{Key: "om_1", Kind: KindMessage, ReceivedAt: time.Now()})
		ib.Accept(ctx, Job{Key: "ev_update", Kind: KindUserUpdated})
	}
	eventually(t, "the message to run", func() bool { return r.count("om_1") == 1 })
	// Not queued: run at once, inside Accept, and finished.
	if n := r.count("ev_update"); n != 1 {
		t.Fatalf("the update ran %d times, want 1", n)
	}
	eventually(t, "both to be finished", func() bool { return state(t, st, "om_1") == "finished" && state(t, st, "ev_update") == "finished" })
	if n := r.count("om_1"); n != 1 {
		t.Fatalf("the message ran %d times, want 1", n)
	}
}

// A job accepted but not run when the inbox stopped runs after the next start, from
// the store alone.
func TestPendingJobResumesAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inbox.db")
	st := openStore(t, path)
	blocked := &runner{ran: map[string]int{}, block: make(chan struct{})}
	ib := New(Deps{Store: st, Metrics: metrics.New(), Logger: quiet, Workers: 1})
	ib.Start(blocked)
	ib.Accept(context.Background(), Job{Key: "om_2", Kind: KindMessage, ReceivedAt: time.Now()})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = ib.Stop(ctx)                           // cut short if the worker holds the job, at once if it never took it
	t.Cleanup(func() { close(blocked.block) }) // the stopped inbox's worker still holds it
	if state(t, st, "om_2") != "pending" {
		t.Fatal("the unfinished job is not pending")
	}

	r := &runner{ran: map[string]int{}}
	start(t, st, r)
	eventually(t, "the resumed job to run", func() bool { return r.count("om_2") == 1 })
	eventually(t, "the resumed job to finish", func() bool { return state(t, st, "om_2") == "finished" })
}

// A job that keeps failing is tried delivery.MaxAttempts times, then given up.
func TestFailingJobIsGivenUpAtTheLimit(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "inbox.db"))
	r := &runner{ran: map[string]int{}, fail: errors.New("feishu down")}
	ib := New(Deps{Store: st, Metrics: metrics.New(), Logger: quiet, Workers: 1})
	ib.runner = r // not started: the test plays housekeeping's rounds itself
	j := Job{Key: "om_3", Kind: KindMessage, ReceivedAt: time.Now()}
	ib.Accept(context.Background(), j)
	for range delivery.MaxAttempts + 2 {
		ib.process(j)
	}
	if n := r.count("om_3"); n != delivery.MaxAttempts {
		t.Fatalf("ran %d times, want %d", n, delivery.MaxAttempts)
	}
	if state(t, st, "om_3") != "finished" {
		t.Fatal("a job past the limit is still pending")
	}
}
