package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"acsbot/acs"
	"acsbot/cards"
	"acsbot/command"
	"acsbot/delivery"
	"acsbot/doors"
	"acsbot/store"
)

// Deps is what the scheduler needs, built by the caller.
type Deps struct {
	Store     *store.Store
	Directory *acs.Directory
	Delivery  *delivery.Stage
	// Doors gives the summary its doors line; nil leaves it out.
	Doors *doors.Service
	// Location is push.timezone: subscription times and days are read in it.
	Location *time.Location
	// Lang is bot.language, the language of the summaries.
	Lang   command.Lang
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Scheduler sends each subscribed chat one summary per local day at its time.
//
// The store makes "once" hold across restarts: a (chat, day) is claimed before the
// send and finished after it, and the send carries a uuid derived from chat and day,
// so Feishu drops a resend of a summary that did go out before a crash.
type Scheduler struct {
	store   *store.Store
	dir     *acs.Directory
	deliver *delivery.Stage
	doors   *doors.Service
	loc     *time.Location
	lang    command.Lang
	log     *slog.Logger
	now     func() time.Time

	// mu makes passes run one at a time, whoever starts them.
	mu sync.Mutex
	// last is the moment the previous pass looked up to; zero before the first
	// pass, which looks back to the start of the local day (the catch-up).
	last time.Time
	// recorded is the snapshot whose totals were last written to the day stats, and
	// recordedDay the day they were written as.
	recorded    *acs.Snapshot
	recordedDay string
	// retries holds the claims whose send failed for a passing reason.
	retries map[claimKey]retry

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	cancel   context.CancelFunc
}

type claimKey struct{ chat, day string }

type retry struct {
	attempts int
	next     time.Time // no new attempt before
	lastErr  string
}

// tickEvery is how often a pass runs. Shorter than a minute, so a summary comes
// within the minute it is due.
const tickEvery = 20 * time.Second

// passTimeout bounds one pass: a cold scan of a large directory plus the sends.
const passTimeout = 5 * time.Minute

// trendDays is how many days of statistics a summary's trend draws.
const trendDays = 30

// New builds a scheduler. Nothing runs until Start or Tick.
func New(d Deps) *Scheduler {
	s := &Scheduler{
		store:   d.Store,
		dir:     d.Directory,
		deliver: d.Delivery,
		doors:   d.Doors,
		loc:     d.Location,
		lang:    d.Lang,
		log:     d.Logger,
		now:     d.Now,
		retries: map[claimKey]retry{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	return s
}

// Start runs a pass at once (the catch-up for a bot that was down, and any summary
// a crash left half sent), then one every tickEvery until Stop.
func (s *Scheduler) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		t := time.NewTicker(tickEvery)
		defer t.Stop()
		for {
			pctx, pcancel := context.WithTimeout(ctx, passTimeout)
			if err := s.Tick(pctx); err != nil {
				s.log.Warn("daily summary pass failed; will try again", "err", err)
			}
			pcancel()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Stop waits for the running pass to finish until ctx ends, then cuts it short. A
// summary cut short stays claimed and unfinished; the next start resends it.
func (s *Scheduler) Stop(ctx context.Context) error {
	if s.cancel == nil {
		return nil // never started
	}
	s.stopOnce.Do(func() { close(s.stop) })
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.cancel()
		<-s.done
		return fmt.Errorf("stop daily summaries: %w", ctx.Err())
	}
}

// Tick runs one pass: it records the day's totals from the current snapshot, gives
// up unfinished summaries of past days, claims the summaries due since the previous
// pass and sends them, all from the one snapshot. Tests call it
// with their own clock instead of waiting for the ticker.
func (s *Scheduler) Tick(ctx context.Context) error {
	_, err := s.pass(ctx, false)
	return err
}

// RunNow sends today's summary to every subscribed chat that has not had it yet, as
// if each chat's time had come; it reports how many summaries it sent or resent. The
// demo console's "run daily summary now" is this: once a day per chat still holds.
func (s *Scheduler) RunNow(ctx context.Context) (int, error) {
	return s.pass(ctx, true)
}

// pass is one scheduler pass; with all, every subscription counts as due today.
func (s *Scheduler) pass(ctx context.Context, all bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	day := Day(now, s.loc)
	if snap := s.dir.Cached(); snap != nil {
		s.record(ctx, day, snap)
	}
	subs, err := s.store.Subscriptions(ctx)
	if err != nil {
		return 0, err
	}
	bySub := make(map[string]store.Subscription, len(subs))
	for _, sub := range subs {
		bySub[sub.ChatID] = sub
	}
	claims, err := s.unfinished(ctx, now, day)
	if err != nil {
		return 0, err
	}
	due, err := s.claimDue(ctx, now, day, subs, all)
	if err != nil {
		return 0, err
	}
	claims = append(claims, due...)
	if len(claims) == 0 {
		return 0, nil
	}
	// The current snapshot, kept fresh by update events and full reads when due; a
	// read happens only when there is none, and then once for every chat due now.
	snap, err := s.dir.Get(ctx)
	if err != nil {
		for _, c := range claims {
			s.failedAttempt(ctx, c, err)
		}
		return 0, fmt.Errorf("scan the directory for %d daily summaries: %w", len(claims), err)
	}
	s.record(ctx, day, snap)
	sent := 0
	for _, c := range claims {
		sub, ok := bySub[c.ChatID]
		if !ok {
			continue // unsubscribed while the claim waited
		}
		if s.send(ctx, c, sub, snap) {
			sent++
		}
	}
	return sent, nil
}

// unfinished returns today's claims that a crash or a passing failure left unsent
// and whose retry is due; those of past days are given up, never sent late.
func (s *Scheduler) unfinished(ctx context.Context, now time.Time, day string) ([]store.PushClaim, error) {
	pending, err := s.store.PendingPushes(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.PushClaim
	for _, c := range pending {
		k := claimKey{c.ChatID, c.Day}
		if c.Day != day {
			reason := "not sent: the bot stopped or kept failing until the day was over"
			if r, ok := s.retries[k]; ok {
				reason = "not sent before the day was over: " + r.lastErr
			}
			s.give(ctx, c, reason)
			continue
		}
		if r, ok := s.retries[k]; ok && now.Before(r.next) {
			continue
		}
		// Resent with the claim's uuid: if the first send did go out before a
		// crash, Feishu drops this one (within its one-hour window).
		out = append(out, c)
	}
	return out, nil
}

// claimDue claims every summary whose time falls in the window since the previous
// pass, or with all every subscription's. The first pass looks back to the start of
// the local day, which sends what a bot that was down missed today, and nothing of
// earlier days.
func (s *Scheduler) claimDue(ctx context.Context, now time.Time, day string, subs []store.Subscription, all bool) ([]store.PushClaim, error) {
	// The window is (from, now]; a nanosecond before midnight lets it hold 00:00.
	from := startOfDay(now, s.loc).Add(-time.Nanosecond)
	if s.last.After(from) {
		from = s.last
	}
	var claims []store.PushClaim
	for _, sub := range subs {
		at, err := scheduledOn(now, sub.At, s.loc)
		if err != nil {
			s.log.Error("skip subscription with a bad time", "chat", sub.ChatID, "err", err)
			continue
		}
		if !all && (!at.After(from) || at.After(now) || at.Before(sub.CreatedAt)) {
			// Not due now; or subscribed after today's time, so the first one is tomorrow.
			continue
		}
		ok, err := s.store.BeginPush(ctx, sub.ChatID, day, now)
		if err != nil {
			return nil, err
		}
		if ok {
			claims = append(claims, store.PushClaim{ChatID: sub.ChatID, Day: day, ClaimedAt: now})
		}
	}
	// Moved only now: had listing or claiming failed, the next pass covers this
	// window again, and BeginPush keeps a chat from being claimed twice.
	s.last = now
	return claims, nil
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}

// send sends one claimed summary, records how it went and reports whether it went.
func (s *Scheduler) send(ctx context.Context, c store.PushClaim, sub store.Subscription, snap *acs.Snapshot) bool {
	card, err := s.summary(ctx, c.Day, snap, sub.LastStats, s.lang)
	if err != nil {
		s.failedAttempt(ctx, c, err)
		return false
	}
	claim := pushClaim{s: s, c: c, today: dayStats(c.Day, snap.Stats())}
	_, err = s.deliver.Deliver(ctx, claim, delivery.Message{What: "summary", IDType: "chat_id", To: c.ChatID, UUID: c.UUID(), Card: card})
	if delivery.Retry(err) {
		s.failedAttempt(ctx, c, err)
		return false
	}
	delete(s.retries, claimKey{c.ChatID, c.Day})
	return err == nil
}

// pushClaim is a chat's summary of one day as the delivery stage ends it.
type pushClaim struct {
	s     *Scheduler
	c     store.PushClaim
	today store.DayStats
}

func (p pushClaim) Done(ctx context.Context) error {
	if err := p.s.store.FinishPush(ctx, p.c.ChatID, p.c.Day, p.today, p.s.now()); err != nil {
		// Sent but not recorded: the claim stays unfinished and is resent with the
		// same uuid, which Feishu drops.
		return fmt.Errorf("daily summary for %s on %s sent but not recorded: %w", p.c.ChatID, p.c.Day, err)
	}
	p.s.log.Info("daily summary sent", "chat", p.c.ChatID, "day", p.c.Day)
	return nil
}

func (p pushClaim) Fail(ctx context.Context, reason string) error {
	p.s.give(ctx, p.c, reason)
	return nil
}

// failedAttempt counts a failure that may pass, and gives the day's summary up
// when delivery's retry limit is reached.
func (s *Scheduler) failedAttempt(ctx context.Context, c store.PushClaim, err error) {
	k := claimKey{c.ChatID, c.Day}
	r := s.retries[k]
	r.attempts++
	r.lastErr = delivery.VerdictOf(err).Reason
	if delivery.Exhausted(r.attempts) {
		s.give(ctx, c, fmt.Sprintf("gave up after %d attempts: %s", r.attempts, r.lastErr))
		return
	}
	r.next = s.now().Add(delivery.Backoff(r.attempts))
	s.retries[k] = r
	s.log.Warn("daily summary not sent; will retry", "chat", c.ChatID, "day", c.Day, "attempt", r.attempts, "err", err)
}

// give records that a day's summary will not be sent, and why.
func (s *Scheduler) give(ctx context.Context, c store.PushClaim, why string) {
	delete(s.retries, claimKey{c.ChatID, c.Day})
	s.log.Warn("daily summary given up", "chat", c.ChatID, "day", c.Day, "reason", why)
	if err := s.store.FailPush(ctx, c.ChatID, c.Day, why, s.now()); err != nil && !errors.Is(err, store.ErrNotClaimed) {
		s.log.Error("record a failed daily summary", "chat", c.ChatID, "day", c.Day, "err", err)
	}
}

// record writes the snapshot's totals as the statistics of day, today, once per
// snapshot and day: the trend reads one row per day, the latest of that day. They
// are today's even when the last full read was earlier: update events keep the
// snapshot current, and it is what today's summary shows.
func (s *Scheduler) record(ctx context.Context, day string, snap *acs.Snapshot) {
	if snap == s.recorded && day == s.recordedDay {
		return
	}
	if err := s.store.RecordDayStats(ctx, dayStats(day, snap.Stats())); err != nil {
		s.log.Warn("record day statistics", "err", err)
		return
	}
	s.recorded, s.recordedDay = snap, day
}

func dayStats(day string, st acs.Stats) store.DayStats {
	return store.DayStats{Day: day, Total: st.Total, WithFace: st.WithFace, NoFace: st.NoFace, NoCard: st.NoCard}
}

// Preview is chatID's summary built from snap as the daily push builds it, for
// /push now. It claims nothing, so the day's summary still comes.
func (s *Scheduler) Preview(ctx context.Context, chatID string, snap *acs.Snapshot, lang command.Lang) (cards.Card, error) {
	subs, err := s.store.Subscriptions(ctx)
	if err != nil {
		return cards.Card{}, err
	}
	var prev *store.DayStats
	for _, sub := range subs {
		if sub.ChatID == chatID {
			prev = sub.LastStats
		}
	}
	return s.summary(ctx, Day(s.now(), s.loc), snap, prev, lang)
}

// summary builds the summary card of day from snap, with the change since prev
// (the chat's previous summary) and the stored trend.
func (s *Scheduler) summary(ctx context.Context, day string, snap *acs.Snapshot, prev *store.DayStats, lang command.Lang) (cards.Card, error) {
	d, err := time.ParseInLocation(time.DateOnly, day, s.loc)
	if err != nil {
		return cards.Card{}, fmt.Errorf("summary day: %w", err)
	}
	since := d.AddDate(0, 0, -(trendDays - 1)).Format(time.DateOnly)
	days, err := s.store.DayStatsSince(ctx, since)
	if err != nil {
		return cards.Card{}, err
	}
	trend := make([]cards.DayStats, len(days))
	for i, st := range days {
		trend[i] = cards.DayStats(st)
	}
	daily := cards.Daily{
		Today:  cards.DayStats(dayStats(day, snap.Stats())),
		NoFace: snap.NoFace(),
		Trend:  trend,
		Doors:  s.doorsDay(ctx, day),
	}
	if prev != nil {
		p := cards.DayStats(*prev)
		daily.Previous = &p
	}
	return cards.DailySummary(cards.View{Lang: lang, TakenAt: snap.TakenAt, Now: s.now()}, daily), nil
}
