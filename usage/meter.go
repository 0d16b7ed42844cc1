package usage

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"acsbot/metrics"
)

// Store keeps the month's counts and the month's one-off notices; store.Store is the
// one the bot uses.
type Store interface {
	// UsageOfMonth returns the counts of every day of month ("2006-01").
	UsageOfMonth(ctx context.Context, month string) ([]Count, error)
	// AddUsage adds counts to what is stored.
	AddUsage(ctx context.Context, counts []Count) error
	// ClaimUsageNotice claims the notice what of month; false when it was claimed
	// before, so a restart does not send it again.
	ClaimUsageNotice(ctx context.Context, month, what string, at time.Time) (bool, error)
}

// Count is N calls of one kind on one local day ("2006-01-02").
type Count struct {
	Day  string
	Kind Kind
	N    int
}

// Options configure a Meter. Zero values get the defaults noted.
type Options struct {
	Store Store // nil: counts live in memory only
	// Location is push.timezone: months and days are local to it. Default UTC.
	Location *time.Location
	// Quota is feishu.monthly_quota, the counted calls allowed a month; 0: none known.
	Quota   int
	Now     func() time.Time // default time.Now
	Metrics *metrics.Metrics // nil: a private registry
	Logger  *slog.Logger     // nil: slog.Default()
	// FlushEvery is how often counts go to the store; default 2 s. Counting never
	// waits for the store: a call's success is not worth an SQLite write of its own.
	FlushEvery time.Duration
}

// warnAt is the share of the quota, in percent, at which admins are told once a month.
const warnAt = 80

// noticeQuota is the store's name of the month's quota warning.
const noticeQuota = "quota_80"

// storeTimeout bounds one store call of the meter.
const storeTimeout = 10 * time.Second

// exhaustedLogEvery is how often a used-up quota is logged: every counted call
// fails then, and once an hour says it as well as a thousand times.
const exhaustedLogEvery = time.Hour

// Meter counts this month's Feishu calls. It is safe for concurrent use, and a nil
// *Meter counts nothing.
type Meter struct {
	o    Options
	warn func(ctx context.Context, m Month)

	mu        sync.Mutex
	month     string                  // "2006-01", local
	days      map[string]map[Kind]int // this month's counts by local day
	pending   map[Count]int           // counts not stored yet, keyed by Day and Kind (N = 0)
	exhausted bool                    // a counted call failed with 99991403 this month
	loggedAt  time.Time               // when the used-up quota was last logged
	warned    bool                    // this month's warning was started (the store decides if it goes)

	stop chan struct{}
	done chan struct{}
}

// New builds a meter and loads this month's counts from o.Store. A store that fails
// to load costs the counts so far, not the start: they are logged and begin at 0.
func New(o Options) *Meter {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 2 * time.Second
	}
	m := &Meter{o: o, pending: map[Count]int{}}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll(o.Now())
	if o.Store != nil {
		m.load()
	}
	return m
}

// OnWarning sets what the meter does when this month's counted calls reach 80 % of
// the quota: called once a month, however often the bot restarts (the store claims
// it first). The bot messages its admins.
func (m *Meter) OnWarning(f func(ctx context.Context, month Month)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.warn = f
}

// load reads this month's counts; called with mu held.
func (m *Meter) load() {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	counts, err := m.o.Store.UsageOfMonth(ctx, m.month)
	if err != nil {
		m.o.Metrics.StoreErrors.WithLabelValues("usage load").Inc()
		m.o.Logger.WarnContext(ctx, "could not load this month's Feishu call counts; /usage starts from 0", "err", err)
		return
	}
	for _, c := range counts {
		m.add(c.Day, c.Kind, c.N)
	}
	// Loaded counts past the mark were warned of before the restart, or are now.
	m.checkWarning()
}

// Record counts one call of kind k that Feishu answered with success.
func (m *Meter) Record(k Kind) {
	if m == nil {
		return
	}
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll(now)
	day := m.day(now)
	m.add(day, k, 1)
	m.pending[Count{Day: day, Kind: k}]++
	if k.Counted() && m.exhausted {
		// Feishu takes counted calls again: the quota was raised (an upgrade).
		m.exhausted = false
		m.o.Metrics.QuotaExhausted.Set(0)
		m.o.Logger.Info("Feishu accepts counted API calls again")
	}
	m.checkWarning()
}

// QuotaExhausted notes that Feishu refused a counted call with 99991403: the
// month's quota is used up and every counted call fails until the 1st. It is
// logged at most once an hour.
func (m *Meter) QuotaExhausted() {
	if m == nil {
		return
	}
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll(now)
	m.exhausted = true
	m.o.Metrics.QuotaExhausted.Set(1)
	if !m.loggedAt.IsZero() && now.Sub(m.loggedAt) < exhaustedLogEvery {
		return
	}
	m.loggedAt = now
	m.o.Logger.Error("Feishu's monthly API call quota is used up (code 99991403): no message can be sent until the 1st "+
		"or an edition upgrade; see /usage",
		"month", m.month, "counted", m.counted(), "monthly_quota", m.o.Quota)
}

// add counts n calls; called with mu held.
func (m *Meter) add(day string, k Kind, n int) {
	d := m.days[day]
	if d == nil {
		d = map[Kind]int{}
		m.days[day] = d
	}
	d[k] += n
	total := 0
	for _, dd := range m.days {
		total += dd[k]
	}
	m.o.Metrics.FeishuCalls.WithLabelValues(string(k)).Set(float64(total))
}

// checkWarning starts the month's warning when counted calls reach warnAt % of the
// quota; called with mu held.
func (m *Meter) checkWarning() {
	if m.o.Quota <= 0 || m.warned || m.counted()*100 < m.o.Quota*warnAt {
		return
	}
	m.warned = true
	month := m.view()
	go m.sendWarning(month)
}

// sendWarning claims the month's warning in the store and, when this is its first
// claim, hands it to OnWarning's func.
func (m *Meter) sendWarning(month Month) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if m.o.Store != nil {
		first, err := m.o.Store.ClaimUsageNotice(ctx, month.Month, noticeQuota, m.o.Now())
		if err != nil {
			m.o.Metrics.StoreErrors.WithLabelValues("usage notice").Inc()
			m.o.Logger.WarnContext(ctx, "could not claim the quota warning; not sent, so it is never sent twice", "err", err)
			return
		}
		if !first {
			return
		}
	}
	m.o.Logger.WarnContext(ctx, "Feishu API calls this month reached 80% of feishu.monthly_quota",
		"counted", month.Counted(), "monthly_quota", month.Quota)
	m.mu.Lock()
	warn := m.warn
	m.mu.Unlock()
	if warn != nil {
		warn(ctx, month)
	}
}

// roll starts a new month when now is in one; called with mu held.
func (m *Meter) roll(now time.Time) {
	month := now.In(m.o.Location).Format("2006-01")
	if month == m.month {
		return
	}
	m.month, m.days, m.exhausted, m.warned, m.loggedAt = month, map[string]map[Kind]int{}, false, false, time.Time{}
	for _, k := range Kinds() {
		m.o.Metrics.FeishuCalls.WithLabelValues(string(k)).Set(0)
	}
	m.o.Metrics.QuotaExhausted.Set(0)
}

func (m *Meter) day(now time.Time) string { return now.In(m.o.Location).Format("2006-01-02") }

// counted is this month's counted calls; called with mu held.
func (m *Meter) counted() int {
	n := 0
	for _, d := range m.days {
		for k, c := range d {
			if k.Counted() {
				n += c
			}
		}
	}
	return n
}

// Month is this month's usage so far.
func (m *Meter) Month() Month {
	if m == nil {
		return Month{}
	}
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll(now)
	return m.view()
}

// view builds the Month; called with mu held.
func (m *Meter) view() Month {
	now := m.o.Now().In(m.o.Location)
	v := Month{Month: m.month, Quota: m.o.Quota, Exhausted: m.exhausted, Totals: map[Kind]int{}}
	first := time.Date(now.Year(), now.Month(), 1, 12, 0, 0, 0, m.o.Location)
	for d := first; d.Month() == now.Month() && d.Day() <= now.Day(); d = d.AddDate(0, 0, 1) {
		day := d.Format("2006-01-02")
		calls := maps.Clone(m.days[day])
		if calls == nil {
			calls = map[Kind]int{}
		}
		for k, n := range calls {
			v.Totals[k] += n
		}
		v.Days = append(v.Days, Day{Day: day, Calls: calls})
	}
	return v
}

// Month is one calendar month's calls, in push.timezone.
type Month struct {
	Month string // "2006-01"
	// Days are the month's days from the 1st through today, each with its calls.
	Days []Day
	// Totals are the month's calls by kind.
	Totals map[Kind]int
	// Quota is feishu.monthly_quota; 0: none known.
	Quota int
	// Exhausted: Feishu refused a counted call this month for the quota (99991403).
	Exhausted bool
}

// Day is one local day's calls by kind.
type Day struct {
	Day   string // "2006-01-02"
	Calls map[Kind]int
}

// Counted is the month's calls Feishu counts against the quota.
func (m Month) Counted() int { return counted(m.Totals) }

// Counted is the day's calls Feishu counts against the quota.
func (d Day) Counted() int { return counted(d.Calls) }

func counted(calls map[Kind]int) int {
	n := 0
	for k, c := range calls {
		if k.Counted() {
			n += c
		}
	}
	return n
}

// Left is how many counted calls the quota leaves this month (never below 0); ok
// is false when no quota is known.
func (m Month) Left() (left int, ok bool) {
	if m.Quota <= 0 {
		return 0, false
	}
	return max(m.Quota-m.Counted(), 0), true
}

// Start writes the counts to the store every FlushEvery, and turns the month's
// gauges back to 0 when the month turns even if no call comes.
func (m *Meter) Start() {
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(m.done)
		t := time.NewTicker(m.o.FlushEvery)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.mu.Lock()
				m.roll(m.o.Now())
				m.mu.Unlock()
				m.Flush()
			}
		}
	}()
}

// Stop ends Start's loop and writes what is left to the store.
func (m *Meter) Stop() {
	if m.stop != nil {
		close(m.stop)
		<-m.done
		m.stop = nil
	}
	m.Flush()
}

// Flush writes the counts not stored yet. On failure they are kept for the next
// flush: a count is lost only if the bot dies before the store works again.
func (m *Meter) Flush() {
	if m.o.Store == nil {
		return
	}
	m.mu.Lock()
	pending := m.pending
	m.pending = map[Count]int{}
	m.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	counts := make([]Count, 0, len(pending))
	for c, n := range pending {
		counts = append(counts, Count{Day: c.Day, Kind: c.Kind, N: n})
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := m.o.Store.AddUsage(ctx, counts); err != nil {
		m.o.Metrics.StoreErrors.WithLabelValues("usage save").Inc()
		m.o.Logger.WarnContext(ctx, "could not store the Feishu call counts; kept for the next try", "err", err)
		m.mu.Lock()
		for c, n := range pending {
			m.pending[c] += n
		}
		m.mu.Unlock()
	}
}
