package acs_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"acsbot/acs"
	"acsbot/clock"
	"acsbot/feishu"
	"acsbot/feishufake"
	"acsbot/metrics"
)

type env struct {
	fake    *feishufake.Server
	dir     *acs.Directory
	metrics *metrics.Metrics
	clock   *clock.Fake
	users   []acs.User
	client  *feishu.Client
	opts    acs.Options
}

// fastRetry keeps tests quick: a rate limit's 1 s reset is capped to 20 ms.
var fastRetry = feishu.RetryPolicy{Attempts: 4, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}

// newEnv serves n generated users from a fake platform. Each one has its own app
// secret: the SDK's token cache is process-wide and keyed by app id and secret.
func newEnv(t *testing.T, n int, tweak func(*acs.Options)) *env {
	t.Helper()
	secret := "sec-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + rand.Text()
	fake := feishufake.New(feishufake.Options{AppID: "cli_acs", AppSecret: secret, VerificationToken: "vt"})
	users := feishufake.GenerateUsers(n, int64(n))
	fake.SetUsers(users)
	m := metrics.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := feishu.NewClient(feishu.ClientConfig{AppID: "cli_acs", AppSecret: secret, BaseURL: fake.URL(),
		Timeout: 5 * time.Second, Logger: log, Metrics: m})
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	o := acs.Options{UserIDType: "open_id", TTL: time.Hour, PageTimeout: 2 * time.Second, MaxRestarts: 2,
		Retry: fastRetry, Metrics: m, Logger: log, Now: clk.Now}
	if tweak != nil {
		tweak(&o)
	}
	e := &env{fake: fake, metrics: m, clock: clk, users: users, client: c, opts: o}
	e.dir = e.restart(t)
	t.Cleanup(func() { fake.Close() }) // after every restart's own cleanup
	return e
}

// restart builds another directory on the same client and options: the bot after
// a restart, loading what its store holds.
func (e *env) restart(t *testing.T) *acs.Directory {
	t.Helper()
	d := acs.NewDirectory(e.client, e.opts)
	t.Cleanup(func() { waitIdle(t, d) }) // a background refresh must not outlive its fake
	return d
}

func waitIdle(t *testing.T, d *acs.Directory) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for d.Refreshing() {
		if time.Now().After(deadline) {
			t.Fatal("directory still refreshing after 10 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func pages(n int) int { return max(1, (n+49)/50) }

func counter(t *testing.T, v *prometheus.CounterVec, label string) float64 {
	t.Helper()
	var m dto.Metric
	if err := v.WithLabelValues(label).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// sameUsers checks a snapshot holds exactly want.
func sameUsers(t *testing.T, s *acs.Snapshot, want []acs.User) {
	t.Helper()
	if s.Len() != len(want) {
		t.Fatalf("snapshot has %d users, want %d", s.Len(), len(want))
	}
	for _, u := range want {
		if got, ok := s.ByID(u.ID); !ok || got != u {
			t.Fatalf("ByID(%s) = %+v %v, want %+v", u.ID, got, ok, u)
		}
	}
}

func TestColdScanCostsOneCallPerPage(t *testing.T) {
	for _, n := range []int{0, 1, 49, 50, 51, 120, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newEnv(t, n, nil)
			s, err := e.dir.Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			sameUsers(t, s, e.users)
			if got := e.fake.ACSListCalls(); got != pages(n) {
				t.Errorf("list calls = %d, want %d", got, pages(n))
			}
			if got := counter(t, e.metrics.ACSCalls, "ok"); got != float64(pages(n)) {
				t.Errorf("acs_calls{ok} = %v, want %d", got, pages(n))
			}
			var h dto.Metric
			if err := e.metrics.ScanDuration.Write(&h); err != nil || h.GetHistogram().GetSampleCount() != 1 {
				t.Errorf("scan duration samples = %d (%v), want 1", h.GetHistogram().GetSampleCount(), err)
			}
			if s2, err := e.dir.Get(context.Background()); err != nil || s2 != s {
				t.Errorf("second Get = %p, %v; want the cached %p", s2, err, s)
			}
			if e.fake.ACSListCalls() != pages(n) {
				t.Error("a fresh snapshot was scanned again")
			}
			if hit, miss := counter(t, e.metrics.CacheLookups, "hit"), counter(t, e.metrics.CacheLookups, "miss"); hit != 1 || miss != 1 {
				t.Errorf("cache lookups hit=%v miss=%v, want 1 and 1", hit, miss)
			}
		})
	}
}

func TestConcurrentColdGetsShareOneScan(t *testing.T) {
	const n, askers = 500, 30
	e := newEnv(t, n, nil)
	e.fake.SetPageLatency(5 * time.Millisecond)
	var wg sync.WaitGroup
	snaps := make([]*acs.Snapshot, askers)
	errs := make([]error, askers)
	for i := range askers {
		wg.Go(func() { snaps[i], errs[i] = e.dir.Get(context.Background()) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, s := range snaps {
		if s != snaps[0] {
			t.Fatalf("asker %d got another snapshot", i)
		}
	}
	sameUsers(t, snaps[0], e.users)
	if got := e.fake.ACSListCalls(); got != pages(n) {
		t.Errorf("list calls = %d, want %d: concurrent askers must share one scan", got, pages(n))
	}
}

func TestScanSurvivesFaults(t *testing.T) {
	const n = 260 // 6 pages
	k := pages(n)
	tests := []struct {
		name       string
		faults     []feishufake.Fault
		wantCalls  int
		metric     string // an ACSCalls label
		metricN    float64
		wantTokens int // token requests; 0: don't check
	}{
		{"invalid page token at page 3 restarts the scan",
			[]feishufake.Fault{{Kind: feishufake.FaultInvalidPageToken, Page: 3, Times: 1}}, 2 + 1 + k, "invalid_page_token", 1, 0},
		{"rate limit at page 2", []feishufake.Fault{{Kind: feishufake.FaultRateLimit, Page: 2, Times: 1, ResetSeconds: 1}}, k + 1, "rate_limited", 1, 0},
		{"5xx retried", []feishufake.Fault{{Kind: feishufake.FaultServerError, Page: 4, Times: 2}}, k + 2, "server_error", 2, 0},
		{"html 502 retried", []feishufake.Fault{{Kind: feishufake.FaultBadGateway, Page: 1, Times: 1}}, k + 1, "server_error", 1, 0},
		{"hung page times out and is retried", []feishufake.Fault{{Kind: feishufake.FaultHang, Page: 5, Times: 1}}, k + 1, "transport_error", 1, 0},
		// The SDK resends a refused token once by itself, so the fake refuses twice;
		// then the token is evicted, a new one fetched, and the page read.
		{"token invalid mid-scan", []feishufake.Fault{{Kind: feishufake.FaultTokenInvalid, Page: 3, Times: 2}}, k + 2, "error", 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, n, func(o *acs.Options) { o.PageTimeout = 300 * time.Millisecond })
			for _, f := range tt.faults {
				e.fake.InjectACSFault(f)
			}
			s, err := e.dir.Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			sameUsers(t, s, e.users)
			if got := e.fake.ACSListCalls(); got != tt.wantCalls {
				t.Errorf("list calls = %d, want %d", got, tt.wantCalls)
			}
			if got := counter(t, e.metrics.ACSCalls, tt.metric); got != tt.metricN {
				t.Errorf("acs_calls{%s} = %v, want %v", tt.metric, got, tt.metricN)
			}
			if tt.wantTokens != 0 && e.fake.TokenRequests() != tt.wantTokens {
				t.Errorf("token requests = %d, want %d", e.fake.TokenRequests(), tt.wantTokens)
			}
		})
	}
}

func TestScanFailures(t *testing.T) {
	const n = 260
	tests := []struct {
		name      string
		fault     feishufake.Fault
		class     feishu.Class
		code      int
		wantCalls int
		text      string
	}{
		{"permission is permanent", feishufake.Fault{Kind: feishufake.FaultPermission}, feishu.Permanent, 99991672, 1, "list acs users page 1: feishu code 99991672"},
		{"rate limited for good", feishufake.Fault{Kind: feishufake.FaultRateLimit, Page: 2}, feishu.RateLimited, 99991400, 1 + fastRetry.Attempts, "list acs users page 2"},
		{"restarts run out", feishufake.Fault{Kind: feishufake.FaultInvalidPageToken, Page: 3}, feishu.InvalidPageToken, 1490018, 3 * 3, "page token rejected 3 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, n, nil)
			e.fake.InjectACSFault(tt.fault)
			s, err := e.dir.Get(context.Background())
			var fe *feishu.Error
			if s != nil || !errors.As(err, &fe) || fe.Class != tt.class || fe.Code != tt.code {
				t.Fatalf("Get = %v, %v; want *feishu.Error class %v code %d", s, err, tt.class, tt.code)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not say %q", err, tt.text)
			}
			if got := e.fake.ACSListCalls(); got != tt.wantCalls {
				t.Errorf("list calls = %d, want %d", got, tt.wantCalls)
			}
			if e.dir.Cached() != nil {
				t.Error("a failed cold scan published a snapshot")
			}
		})
	}
}

func TestStaleServedWhileRefreshing(t *testing.T) {
	const n = 120
	e := newEnv(t, n, nil)
	ctx := context.Background()
	first, err := e.dir.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changed := e.users[7]
	changed.FaceUploaded = !changed.FaceUploaded
	e.fake.SetUser(changed)
	e.fake.SetPageLatency(50 * time.Millisecond)
	e.clock.Add(3 * time.Minute)
	e.dir.MarkStale()

	got, err := e.dir.Get(ctx)
	if err != nil || got != first {
		t.Fatalf("stale Get = %p, %v; want the old snapshot %p at once", got, err, first)
	}
	if !e.dir.Refreshing() {
		t.Error("no refresh running after a stale Get")
	}
	if age := got.Age(e.clock.Now()); age != 3*time.Minute {
		t.Errorf("age = %v, want 3m", age)
	}
	if again, _ := e.dir.Get(ctx); again != first {
		t.Error("a second stale Get did not get the old snapshot")
	}
	waitIdle(t, e.dir)

	fresh, err := e.dir.Get(ctx)
	if err != nil || fresh == first {
		t.Fatalf("Get after refresh = %p, %v; want a new snapshot", fresh, err)
	}
	if u, _ := fresh.ByID(changed.ID); u != changed {
		t.Errorf("refreshed user = %+v, want %+v", u, changed)
	}
	if u, _ := first.ByID(changed.ID); u == changed {
		t.Error("the old snapshot changed under its reader")
	}
	if age := fresh.Age(e.clock.Now()); age != 0 {
		t.Errorf("fresh age = %v, want 0", age)
	}
	if got := e.fake.ACSListCalls(); got != 2*pages(n) {
		t.Errorf("list calls = %d, want %d: two stale Gets start one refresh", got, 2*pages(n))
	}
	for label, want := range map[string]float64{"miss": 1, "stale": 2, "hit": 1} {
		if got := counter(t, e.metrics.CacheLookups, label); got != want {
			t.Errorf("cache lookups{%s} = %v, want %v", label, got, want)
		}
	}
}

func TestTTLExpiry(t *testing.T) {
	e := newEnv(t, 10, func(o *acs.Options) { o.TTL = 30 * time.Minute })
	ctx := context.Background()
	first, err := e.dir.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(29 * time.Minute)
	if got, _ := e.dir.Get(ctx); got != first || e.dir.Refreshing() {
		t.Fatal("a snapshot younger than the TTL was not served as fresh")
	}
	e.clock.Add(time.Minute)
	if got, _ := e.dir.Get(ctx); got != first {
		t.Error("an expired snapshot was not served while refreshing")
	}
	waitIdle(t, e.dir)
	if counter(t, e.metrics.CacheLookups, "stale") != 1 || e.fake.ACSListCalls() != 2 {
		t.Errorf("stale lookups %v, list calls %d; want 1 and 2", counter(t, e.metrics.CacheLookups, "stale"), e.fake.ACSListCalls())
	}
}

func TestFailedBackgroundRefreshKeepsSnapshot(t *testing.T) {
	e := newEnv(t, 60, nil)
	ctx := context.Background()
	first, err := e.dir.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.fake.InjectACSFault(feishufake.Fault{Kind: feishufake.FaultPermission, Times: 1})
	e.dir.MarkStale()
	if got, err := e.dir.Get(ctx); got != first || err != nil {
		t.Fatalf("stale Get = %p, %v", got, err)
	}
	waitIdle(t, e.dir)
	if e.dir.Cached() != first {
		t.Fatal("a failed refresh replaced the snapshot")
	}
	// Still stale, so the next Get tries again, and this time it works.
	if got, _ := e.dir.Get(ctx); got != first {
		t.Fatal("second stale Get did not serve the old snapshot")
	}
	waitIdle(t, e.dir)
	if e.dir.Cached() == first {
		t.Error("the retried refresh did not publish")
	}
}

func TestRefresh(t *testing.T) {
	const n = 100
	e := newEnv(t, n, nil)
	ctx := context.Background()
	if _, err := e.dir.Get(ctx); err != nil {
		t.Fatal(err)
	}
	added := acs.User{ID: "ou_new", Card: 424242}
	e.fake.SetUser(added)
	e.fake.SetPageLatency(50 * time.Millisecond)

	var wg sync.WaitGroup
	snaps := make([]*acs.Snapshot, 3)
	errs := make([]error, 3)
	for i := range snaps {
		wg.Go(func() { snaps[i], errs[i] = e.dir.Refresh(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if snaps[1] != snaps[0] || snaps[2] != snaps[0] {
		t.Error("concurrent Refreshes did not share one scan")
	}
	if got, want := e.fake.ACSListCalls(), pages(n)+pages(n+1); got != want {
		t.Errorf("list calls = %d, want %d", got, want)
	}
	if u := snaps[0].ByCard(424242); len(u) != 1 || u[0] != added {
		t.Errorf("ByCard(424242) = %+v", u)
	}
	if got, _ := e.dir.Get(ctx); got != snaps[0] {
		t.Error("Get after Refresh is not the refreshed snapshot")
	}
}

func TestRefreshHonoursContext(t *testing.T) {
	e := newEnv(t, 100, nil)
	e.fake.SetPageLatency(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.dir.Refresh(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Refresh = %v, want DeadlineExceeded", err)
	}
	// The scan itself goes on for whoever else waits, and its result is kept.
	waitIdle(t, e.dir)
	if s := e.dir.Cached(); s == nil || s.Len() != 100 {
		t.Errorf("Cached after the abandoned scan = %v", s)
	}
}

func TestApplyUpdate(t *testing.T) {
	card := func(n int) *int { return &n }
	face := func(b bool) *bool { return &b }
	tests := []struct {
		name string
		id   func(e *env) string
		card *int
		face *bool
	}{
		{"known user gets a card", func(e *env) string { return e.users[3].ID }, card(987654), nil},
		{"known user uploads a face", func(e *env) string { return e.users[4].ID }, nil, face(true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 80, nil)
			ctx := context.Background()
			before, err := e.dir.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			id := tt.id(e)
			old, _ := before.ByID(id)
			if !e.dir.ApplyUpdate(id, tt.card, tt.face) {
				t.Fatal("ApplyUpdate = false for a known user")
			}
			after, err := e.dir.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if counter(t, e.metrics.CacheLookups, "hit") != 1 {
				t.Error("a known user's update lost the snapshot's freshness")
			}
			u, ok := after.ByID(id)
			if !ok || (tt.card != nil && u.Card != *tt.card) || (tt.face != nil && u.FaceUploaded != *tt.face) {
				t.Errorf("updated user = %+v", u)
			}
			if tt.card != nil && !slices.Contains(after.ByCard(*tt.card), u) {
				t.Errorf("ByCard(%d) does not find the user", *tt.card)
			}
			if still, _ := before.ByID(id); still != old {
				t.Error("the snapshot a reader holds changed")
			}
			if e.dir.Cached() != after {
				t.Error("Cached is not the updated snapshot")
			}
		})
	}
	t.Run("before any scan", func(t *testing.T) {
		e := newEnv(t, 5, nil)
		if e.dir.ApplyUpdate("ou_x", nil, nil) {
			t.Error("ApplyUpdate with no snapshot = true")
		}
	})
}

// An update that arrives while a scan runs may concern a page already read: it is
// replayed on the scan's result, so it is not lost.
func TestApplyUpdateDuringScan(t *testing.T) {
	const n = 150
	e := newEnv(t, n, nil)
	ctx := context.Background()
	if _, err := e.dir.Get(ctx); err != nil {
		t.Fatal(err)
	}
	e.fake.SetPageLatency(30 * time.Millisecond)
	done := make(chan *acs.Snapshot)
	go func() {
		s, err := e.dir.Refresh(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	for !e.dir.Refreshing() {
		time.Sleep(time.Millisecond)
	}
	id := e.users[0].ID // on page 1, which the scan reads first
	yes := !e.users[0].FaceUploaded
	if !e.dir.ApplyUpdate(id, nil, &yes) {
		t.Fatal("ApplyUpdate = false")
	}
	s := <-done
	if u, _ := s.ByID(id); u.FaceUploaded != yes {
		t.Errorf("the refresh lost an update made during it: %+v", u)
	}
}
