package usage

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"acsbot/clock"
	"acsbot/metrics"
)

func TestOf(t *testing.T) {
	tests := []struct {
		method, path string
		want         Kind
		ok           bool
	}{
		{"POST", "/open-apis/im/v1/messages/om_1/reply", Reply, true},
		{"POST", "/open-apis/im/v1/messages", Send, true},
		{"PATCH", "/open-apis/im/v1/messages/om_1", CardUpdate, true},
		{"POST", "/open-apis/interactive/v1/card/update", CardUpdate, true},
		{"GET", "/open-apis/im/v1/chats/oc_1", Lookup, true},
		{"GET", "/open-apis/bot/v3/info", Lookup, true},
		{"GET", "/open-apis/acs/v1/users", ACSList, true},
		{"GET", "/open-apis/acs/v1/users/ou_1", ACSGet, true},
		{"GET", "/open-apis/acs/v1/devices", ACSOther, true},
		{"GET", "/open-apis/acs/v1/users/ou_1/face", ACSOther, true},
		{"POST", "/open-apis/ephemeral/v1/send", Other, true},
		{"POST", "/open-apis/auth/v3/tenant_access_token/internal", "", false},
		{"POST", "/callback/ws/endpoint", "", false},
	}
	for _, tt := range tests {
		got, ok := Of(tt.method, tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Of(%s %s) = %q, %v; want %q, %v", tt.method, tt.path, got, ok, tt.want, tt.ok)
		}
	}
	for _, k := range Kinds() {
		if want := k != ACSList && k != ACSGet && k != ACSOther; k.Counted() != want {
			t.Errorf("%s.Counted() = %v", k, k.Counted())
		}
	}
}

// memStore is a usage.Store in memory.
type memStore struct {
	mu      sync.Mutex
	counts  map[Count]int
	notices map[string]bool
}

func newMemStore() *memStore { return &memStore{counts: map[Count]int{}, notices: map[string]bool{}} }

func (s *memStore) UsageOfMonth(_ context.Context, month string) ([]Count, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Count
	for c, n := range s.counts {
		if c.Day[:7] == month {
			out = append(out, Count{Day: c.Day, Kind: c.Kind, N: n})
		}
	}
	return out, nil
}

func (s *memStore) AddUsage(_ context.Context, counts []Count) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range counts {
		s.counts[Count{Day: c.Day, Kind: c.Kind}] += c.N
	}
	return nil
}

func (s *memStore) ClaimUsageNotice(_ context.Context, month, what string, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notices[month+what] {
		return false, nil
	}
	s.notices[month+what] = true
	return true, nil
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func TestMeterKeepsTheMonthAcrossRestarts(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, shanghai))
	st := newMemStore()
	m := New(Options{Store: st, Location: shanghai, Now: clk.Now})
	m.Record(Reply)
	m.Record(ACSList)
	clk.Add(24 * time.Hour)
	m.Record(Send)
	m.Record(Send)
	m.Flush()

	m2 := New(Options{Store: st, Location: shanghai, Now: clk.Now})
	got := m2.Month()
	if got.Month != "2026-11" || got.Counted() != 3 || got.Totals[ACSList] != 1 {
		t.Fatalf("after a restart: %+v", got)
	}
	if len(got.Days) != 3 || got.Days[0].Day != "2026-11-01" || got.Days[1].Counted() != 1 || got.Days[2].Calls[Send] != 2 {
		t.Fatalf("days: %+v", got.Days)
	}
	if _, ok := got.Left(); ok {
		t.Fatal("Left known without a quota")
	}

	// 23:30 UTC on the 30th is the 1st in Shanghai: a new month, from 0.
	clk.Set(time.Date(2026, 11, 30, 16, 30, 0, 0, time.UTC))
	m2.Record(Reply)
	if got := m2.Month(); got.Month != "2026-12" || got.Counted() != 1 || len(got.Days) != 1 {
		t.Fatalf("new month: %+v", got)
	}
}

func TestMeterWarnsOnceAMonthAndMarksTheQuotaUsedUp(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, shanghai))
	st := newMemStore()
	met := metrics.New()
	warned := make(chan Month, 10)
	start := func() *Meter {
		m := New(Options{Store: st, Location: shanghai, Now: clk.Now, Quota: 10, Metrics: met})
		m.OnWarning(func(_ context.Context, mo Month) { warned <- mo })
		return m
	}
	m := start()
	for range 7 {
		m.Record(Reply)
	}
	m.Record(ACSList) // not counted: no warning yet
	select {
	case mo := <-warned:
		t.Fatalf("warned at %d of 10", mo.Counted())
	case <-time.After(50 * time.Millisecond):
	}
	m.Record(Send)
	select {
	case mo := <-warned:
		if left, _ := mo.Left(); mo.Counted() != 8 || left != 2 {
			t.Fatalf("warning: %+v, left %d", mo, left)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no warning at 8 of 10")
	}
	m.Record(Send)
	m.Flush()
	m = start() // a restart past the mark: claimed already, so no second warning
	m.Record(Send)
	select {
	case <-warned:
		t.Fatal("warned twice in a month")
	case <-time.After(50 * time.Millisecond):
	}

	m.QuotaExhausted()
	if !m.Month().Exhausted || value(t, met.QuotaExhausted) != 1 {
		t.Fatal("quota not marked used up")
	}
	if left, _ := m.Month().Left(); left != 0 {
		t.Fatalf("left %d past the quota", left)
	}
	clk.Set(time.Date(2026, 12, 1, 0, 0, 1, 0, shanghai))
	if m.Month().Exhausted || value(t, met.QuotaExhausted) != 0 {
		t.Fatal("still used up in a new month")
	}
	if got := value(t, met.FeishuCalls.WithLabelValues(string(Send))); got != 0 {
		t.Fatalf("send gauge %v in a new month", got)
	}
}

func value(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
