package acs_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/bottest"
	"acsbot/clock"
	"acsbot/feishu"
	"acsbot/feishufake"
	"acsbot/store"
)

// openStore opens a store in a fresh directory. Call it before newEnv: cleanups run
// last-registered first, so the store closes after every directory has gone idle.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "acsbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

// storedEnv is newEnv with a store and a day-long TTL, as the bot runs.
func storedEnv(t *testing.T, n int, logs io.Writer) *env {
	t.Helper()
	st := openStore(t)
	return newEnv(t, n, func(o *acs.Options) {
		o.Store, o.TTL = st, 24*time.Hour
		if logs != nil {
			o.Logger = slog.New(slog.NewTextHandler(logs, nil))
		}
	})
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s still not: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

const subscribeHint = "subscribe the app to the event acs.user.updated_v1"

func TestRestartServesStoredSnapshot(t *testing.T) {
	const n = 260
	tests := []struct {
		name      string
		age       time.Duration // from the stored read to the first question after the restart
		idType    string        // acs.user_id_type after the restart
		wantLoad  bool          // the restart loads the stored snapshot
		wantReads int           // full reads the first question causes
	}{
		{"younger than the TTL: nothing is read", 23 * time.Hour, "open_id", true, 0},
		{"older than the TTL: served, read again in the background", 25 * time.Hour, "open_id", true, 1},
		{"other ids than acs.user_id_type: read in full, waited for", time.Hour, "union_id", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := storedEnv(t, n, nil)
			ctx := context.Background()
			first, err := e.dir.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			changed := e.users[9]
			changed.Card = 31415926
			e.fake.SetUser(changed)
			e.clock.Add(tt.age)
			e.opts.UserIDType = tt.idType

			d := e.restart(t)
			loaded := d.Cached()
			if (loaded != nil) != tt.wantLoad {
				t.Fatalf("loaded a snapshot: %v, want %v", loaded != nil, tt.wantLoad)
			}
			if loaded != nil {
				sameUsers(t, loaded, e.users)
				if !loaded.TakenAt.Equal(first.TakenAt) {
					t.Errorf("loaded snapshot taken at %v, want the stored read's %v", loaded.TakenAt, first.TakenAt)
				}
			}
			got, err := d.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if loaded != nil && got != loaded {
				t.Error("the first question was not answered from the stored snapshot")
			}
			waitIdle(t, d)
			if calls := e.fake.ACSListCalls(); calls != (1+tt.wantReads)*pages(n) {
				t.Errorf("list calls = %d, want %d: %d full reads after the restart", calls, (1+tt.wantReads)*pages(n), tt.wantReads)
			}
			if e.fake.ACSGetCalls() != 0 {
				t.Errorf("single-user calls = %d, want 0", e.fake.ACSGetCalls())
			}
			if tt.wantReads == 0 {
				return
			}
			// The new read was stored: the next restart loads it and reads nothing.
			again := e.restart(t).Cached()
			if again == nil || !again.TakenAt.Equal(e.clock.Now()) {
				t.Fatalf("after the read the store holds %v, want a snapshot taken at %v", again, e.clock.Now())
			}
			if u, _ := again.ByID(changed.ID); u != changed {
				t.Errorf("stored user %+v, want %+v", u, changed)
			}
		})
	}
}

func TestUpdateForKnownUserIsStored(t *testing.T) {
	card := func(n int) *int { return &n }
	face := func(b bool) *bool { return &b }
	tests := []struct {
		name string
		card *int
		face *bool
	}{
		{"a card", card(7777777), nil},
		{"a face photo", nil, face(true)},
		{"both, the card taken away", card(0), face(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 120
			e := storedEnv(t, n, nil)
			ctx := context.Background()
			before, err := e.dir.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := before.ByID(e.users[5].ID)
			if tt.card != nil {
				want.Card = *tt.card
			}
			if tt.face != nil {
				want.FaceUploaded = *tt.face
			}
			e.clock.Add(time.Hour)
			if !e.dir.ApplyUpdate(want.ID, tt.card, tt.face) {
				t.Fatal("ApplyUpdate = false for a known user")
			}
			if u, _ := e.dir.Cached().ByID(want.ID); u != want {
				t.Errorf("served %+v, want %+v", u, want)
			}
			d := e.restart(t)
			s, err := d.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if u, _ := s.ByID(want.ID); u != want {
				t.Errorf("after a restart %+v, want %+v", u, want)
			}
			if !s.TakenAt.Equal(before.TakenAt) {
				t.Errorf("an update moved the snapshot's time to %v; its other data is still from %v", s.TakenAt, before.TakenAt)
			}
			if e.fake.ACSListCalls() != pages(n) || e.fake.ACSGetCalls() != 0 {
				t.Errorf("list calls %d, single-user calls %d; want %d and 0: an update costs no call",
					e.fake.ACSListCalls(), e.fake.ACSGetCalls(), pages(n))
			}
		})
	}
}

func TestUpdateForUnknownUserCostsOneCall(t *testing.T) {
	card := func(n int) *int { return &n }
	face := func(b bool) *bool { return &b }
	const n = 120
	tests := []struct {
		name    string
		listed  bool // Feishu lists the user (they joined a permission group after the read)
		latency time.Duration
		events  []acs.User // the events' values, in order
		want    acs.User   // the user the snapshot ends with; zero: not added
	}{
		{"added with Feishu's values", true, 0,
			[]acs.User{{ID: "ou_new", Card: 5550001, FaceUploaded: true}},
			acs.User{ID: "ou_new", Card: 5550001, FaceUploaded: true}},
		{"a burst of events: one call, the last event wins", true, 50 * time.Millisecond,
			[]acs.User{{ID: "ou_new", Card: 5550001, FaceUploaded: true}, {ID: "ou_new", Card: 5550001}, {ID: "ou_new", Card: 5550002}},
			acs.User{ID: "ou_new", Card: 5550002}},
		{"in no permission group: not added", false, 0,
			[]acs.User{{ID: "ou_new", Card: 5550001}}, acs.User{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &bottest.Log{}
			e := storedEnv(t, n, logs)
			ctx := context.Background()
			if _, err := e.dir.Get(ctx); err != nil {
				t.Fatal(err)
			}
			if tt.listed {
				e.fake.SetUser(tt.events[0])
			}
			e.fake.SetPageLatency(tt.latency)
			for _, ev := range tt.events {
				if e.dir.ApplyUpdate(ev.ID, card(ev.Card), face(ev.FaceUploaded)) {
					t.Fatal("ApplyUpdate = true for a user the snapshot lacks")
				}
			}
			if tt.want.ID == "" {
				eventually(t, "the lookup gave up on the user", func() bool { return logs.Count("in no acs permission group") == 1 })
				if _, ok := e.dir.Cached().ByID("ou_new"); ok {
					t.Error("a user Feishu does not know was added")
				}
			} else {
				eventually(t, "the user was added", func() bool {
					u, _ := e.dir.Cached().ByID(tt.want.ID)
					return u == tt.want
				})
				if u, _ := e.restart(t).Cached().ByID(tt.want.ID); u != tt.want {
					t.Errorf("after a restart %+v, want %+v", u, tt.want)
				}
			}
			if e.fake.ACSGetCalls() != 1 || e.fake.ACSListCalls() != pages(n) {
				t.Errorf("single-user calls %d, list calls %d; want 1 and %d: never a full read",
					e.fake.ACSGetCalls(), e.fake.ACSListCalls(), pages(n))
			}
			if e.dir.Refreshing() {
				t.Error("an unknown user started a full read")
			}
		})
	}
}

// Everyone who asks while the snapshot is due gets it at once; one read runs behind.
func TestStaleStoredSnapshotServedAtOnce(t *testing.T) {
	const n, askers = 500, 20
	const latency = 100 * time.Millisecond // 10 pages: a second of reading
	e := storedEnv(t, n, nil)
	ctx := context.Background()
	if _, err := e.dir.Get(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(25 * time.Hour)
	e.fake.SetPageLatency(latency)
	d := e.restart(t)
	stale := d.Cached()

	var wg sync.WaitGroup
	took := make([]time.Duration, askers)
	for i := range askers {
		wg.Go(func() {
			start := time.Now()
			s, err := d.Get(ctx)
			took[i] = time.Since(start)
			if err != nil || s != stale {
				t.Errorf("asker %d got %p, %v; want the stored snapshot %p", i, s, err, stale)
			}
		})
	}
	wg.Wait()
	for i, dt := range took {
		if dt >= latency {
			t.Errorf("asker %d waited %v, as long as a page", i, dt)
		}
	}
	if !d.Refreshing() {
		t.Error("no read behind the stale answers")
	}
	if age := stale.Age(e.clock.Now()); age != 25*time.Hour {
		t.Errorf("served snapshot's age %v, want 25h: cards show it", age)
	}
	waitIdle(t, d)
	if got := e.fake.ACSListCalls(); got != 2*pages(n) {
		t.Errorf("list calls = %d, want %d: %d askers share one read", got, 2*pages(n), askers)
	}
	if s, _ := d.Get(ctx); s == stale || s.Age(e.clock.Now()) != 0 {
		t.Error("the background read was not published")
	}
}

// A full read judges whether update events arrive: changes in Feishu that the
// snapshot, kept current by events, lacks were not announced.
func TestUnannouncedChangesDetected(t *testing.T) {
	const n = 150
	tests := []struct {
		name string
		// before changes Feishu (e.fake) and the directory before a Refresh.
		before func(t *testing.T, e *env, changed acs.User)
		want   bool
	}{
		{"only announced changes", func(t *testing.T, e *env, u acs.User) {
			e.fake.SetUser(u)
			e.dir.ApplyUpdate(u.ID, &u.Card, &u.FaceUploaded)
		}, false},
		{"an unannounced face change", func(t *testing.T, e *env, u acs.User) {
			e.fake.SetUser(u)
		}, true},
		{"an unannounced card change", func(t *testing.T, e *env, u acs.User) {
			u.FaceUploaded = !u.FaceUploaded // undo the face change: only the card differs
			u.Card++
			e.fake.SetUser(u)
		}, true},
		{"a user joined: no feature changed", func(t *testing.T, e *env, _ acs.User) {
			e.fake.SetUser(acs.User{ID: "ou_joined", Card: 1234567})
		}, false},
		{"the read MarkStale asked for finds the change", func(t *testing.T, e *env, u acs.User) {
			e.fake.SetUser(u)
			e.dir.MarkStale()
		}, false},
		{"an event during the read for a page it already read", func(t *testing.T, e *env, u acs.User) {
			e.fake.SetPageLatency(20 * time.Millisecond)
			done := make(chan struct{})
			go func() {
				defer close(done)
				if _, err := e.dir.Refresh(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			eventually(t, "page 1 read", func() bool { return e.fake.ACSListCalls() > pages(n)+1 })
			e.fake.SetUser(u)
			e.dir.ApplyUpdate(u.ID, &u.Card, &u.FaceUploaded)
			<-done
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &bottest.Log{}
			e := storedEnv(t, n, logs)
			ctx := context.Background()
			if _, err := e.dir.Get(ctx); err != nil {
				t.Fatal(err)
			}
			changed := e.users[0] // listed on page 1
			changed.FaceUploaded = !changed.FaceUploaded
			tt.before(t, e, changed)
			if _, err := e.dir.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if got := e.dir.EventsMissing(); got != tt.want {
				t.Errorf("EventsMissing = %v, want %v", got, tt.want)
			}
			if got, want := logs.Count(subscribeHint), map[bool]int{true: 1}[tt.want]; got != want {
				t.Errorf("the log says what to subscribe to %d times, want %d", got, want)
			}
		})
	}
}

// Without events the directory is read hourly, and says so only once; the first
// event ends that, and the state outlives restarts.
func TestHourlyFallbackUntilAnEvent(t *testing.T) {
	const n = 100
	logs := &bottest.Log{}
	e := storedEnv(t, n, logs)
	ctx := context.Background()
	reads := func() int { return e.fake.ACSListCalls() / pages(n) }
	// ask answers one question and waits for the read it may start.
	ask := func(d *acs.Directory) {
		t.Helper()
		if _, err := d.Get(ctx); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, d)
	}
	unannounced := func(i int) {
		u := e.users[i]
		u.FaceUploaded = !u.FaceUploaded
		e.fake.SetUser(u)
	}
	ask(e.dir)
	unannounced(1)
	e.clock.Add(25 * time.Hour)
	ask(e.dir) // served stale; the read behind finds the change
	ask(e.dir)
	if !e.dir.EventsMissing() || reads() != 2 {
		t.Fatalf("EventsMissing %v after %d reads, want true after 2", e.dir.EventsMissing(), reads())
	}

	d := e.restart(t)
	if !d.EventsMissing() {
		t.Fatal("a restart forgot that events are missing")
	}
	steps := []struct {
		name      string
		advance   time.Duration
		change    bool // an unannounced change before the step
		wantReads int
	}{
		{"59 minutes on: fresh", 59 * time.Minute, false, 2},
		{"an hour on: read again", 2 * time.Minute, true, 3},
		{"the next hour: read again", time.Hour, false, 4},
	}
	for _, s := range steps {
		e.clock.Add(s.advance)
		if s.change {
			unannounced(2)
		}
		ask(d)
		ask(d)
		if reads() != s.wantReads {
			t.Fatalf("%s: %d reads, want %d", s.name, reads(), s.wantReads)
		}
	}
	if got := logs.Count(subscribeHint); got != 2 {
		t.Errorf("the subscribe hint was logged %d times, want 2: once when found, once when loaded", got)
	}

	u := e.users[3]
	if !d.ApplyUpdate(u.ID, nil, &u.FaceUploaded) {
		t.Fatal("ApplyUpdate = false for a known user")
	}
	if d.EventsMissing() {
		t.Fatal("an event did not end the fallback")
	}
	e.clock.Add(23 * time.Hour)
	ask(d)
	if reads() != 4 {
		t.Errorf("%d reads, want 4: with events arriving the TTL is a day again", reads())
	}
	if e.restart(t).EventsMissing() {
		t.Error("a restart brought the fallback back after an event ended it")
	}
}

// brokenStore fails every call, as a store on a full or vanished disk does.
type brokenStore struct{}

var errBroken = errors.New("disk I/O error")

func (brokenStore) LoadDirectory(context.Context) (acs.StoredDirectory, bool, error) {
	return acs.StoredDirectory{}, false, errBroken
}
func (brokenStore) SaveDirectory(context.Context, acs.StoredDirectory) error { return errBroken }
func (brokenStore) SaveDirectoryUser(context.Context, acs.User) error        { return errBroken }
func (brokenStore) SetEventsMissing(context.Context, bool) error             { return errBroken }

// A failing store costs the stored snapshot, never an answer: the directory reads
// and applies events in memory, and counts every failed store call.
func TestBrokenStoreDoesNotStopAnswers(t *testing.T) {
	const n = 120
	e := newEnv(t, n, func(o *acs.Options) { o.Store = brokenStore{} })
	ctx := context.Background()
	s, err := e.dir.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameUsers(t, s, e.users)
	u := e.users[2]
	u.Card = 2468
	if !e.dir.ApplyUpdate(u.ID, &u.Card, nil) {
		t.Fatal("ApplyUpdate = false for a known user")
	}
	if got, _ := e.dir.Cached().ByID(u.ID); got != u {
		t.Errorf("served %+v, want %+v", got, u)
	}
	for op, want := range map[string]float64{"directory load": 1, "directory save": 1, "directory user": 1} {
		if got := counter(t, e.metrics.StoreErrors, op); got != want {
			t.Errorf("store_errors{%s} = %v, want %v", op, got, want)
		}
	}
}

// BenchmarkFirstAnswerAfterRestart is the bot's first directory answer after a
// restart at 5,000 users and 150 ms a page: the restart (loading the store) and the
// first Get. With an empty store that Get waits for a full read of 100 pages; with
// the snapshot stored an hour earlier (younger than the TTL) it reads nothing.
func BenchmarkFirstAnswerAfterRestart(b *testing.B) {
	const n, latency = 5000, 150 * time.Millisecond
	for _, stored := range []bool{false, true} {
		name := map[bool]string{false: "empty_store", true: "stored"}[stored]
		b.Run(name, func(b *testing.B) {
			secret := "sec-bench-" + name + "-" + rand.Text()
			fake := feishufake.New(feishufake.Options{AppID: "cli_acs", AppSecret: secret})
			defer fake.Close()
			fake.SetUsers(feishufake.GenerateUsers(n, n))
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			c := feishu.NewClient(feishu.ClientConfig{AppID: "cli_acs", AppSecret: secret, BaseURL: fake.URL(),
				Timeout: 5 * time.Second, Logger: log})
			clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			o := acs.Options{UserIDType: "open_id", TTL: 24 * time.Hour, MaxRestarts: 2, Retry: fastRetry, Logger: log, Now: clk.Now}
			o.Store = openStore(b)
			if stored { // the bot before the restart read the directory an hour ago
				if _, err := acs.NewDirectory(c, o).Get(context.Background()); err != nil {
					b.Fatal(err)
				}
				clk.Add(time.Hour)
			}
			fake.SetPageLatency(latency)
			before := fake.ACSListCalls()
			b.ResetTimer()
			for range b.N {
				if !stored {
					b.StopTimer()
					o.Store = openStore(b)
					b.StartTimer()
				}
				s, err := acs.NewDirectory(c, o).Get(context.Background())
				if err != nil || s.Len() != n {
					b.Fatalf("%v users, %v", s, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(fake.ACSListCalls()-before)/float64(b.N), "list-calls/op")
		})
	}
}
