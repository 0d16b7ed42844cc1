// Package inbox is where work from Feishu waits: each job is deduped and recorded in
// the store before Feishu gets its answer, then run on a bounded pool of workers
// through a Runner. A job not finished (a crash, a full queue, a passing failure) is
// resumed from the store. The inbox knows no command: the Runner does the work.
package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"acsbot/delivery"
	"acsbot/metrics"
	"acsbot/store"
)

// Runner does the work of jobs.
type Runner interface {
	// Run does one job. An error leaves it pending, to be tried again.
	Run(ctx context.Context, j Job) error
	// Queued reports whether jobs of kind go to the workers, and how long one may
	// run. A kind that is not queued is run at once, as it is accepted.
	Queued(kind string) (timeout time.Duration, ok bool)
	// Tidy frees what the runner keeps in memory past its use; housekeeping calls it.
	Tidy()
}

// Deps is what the inbox needs, built by the caller.
type Deps struct {
	Store   *store.Store
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Workers is the size of the pool; 0 means defaultWorkers.
	Workers int
}

// Inbox records, dedupes, queues and runs jobs.
type Inbox struct {
	store   *store.Store
	metrics *metrics.Metrics
	log     *slog.Logger
	now     func() time.Time
	runner  Runner

	// seen fronts the store's dedupe and stands in for it while the store is failing.
	// No janitor (cleanup interval 0): go-cache stops one only when its cache is
	// garbage collected; housekeeping deletes expired entries instead.
	seen *gocache.Cache

	queue    chan Job
	workers  int
	mu       sync.Mutex
	inflight map[string]bool
	wg       sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once
	// backlog is signalled when a full queue left a job in the store.
	backlog chan struct{}
	// storeErrLogged rate-limits the log line for a failing store to one a minute.
	storeErrLogged atomic.Int64
}

// Retention is how long a handled event is remembered: well past Feishu's retry
// ladder (15 s, 5 min, 1 h, 6 h) and past the webhook's replay window.
const Retention = 48 * time.Hour

// defaultWorkers is the pool's size. Most of a worker's time is spent waiting: on
// Feishu, and on its chat's turn, as the delivery stage paces each chat at Feishu's
// 5 messages a second. Enough workers keep a busy chat's answers from holding up
// every other chat's; waiting goroutines cost next to nothing.
const defaultWorkers = 64

// storeWriteTimeout bounds a store write made while Feishu waits for its answer: a
// locked store must not hold the answer past Feishu's patience.
const storeWriteTimeout = 5 * time.Second

// New builds an inbox. Nothing runs until Start.
func New(d Deps) *Inbox {
	ib := &Inbox{
		store:    d.Store,
		metrics:  d.Metrics,
		log:      d.Logger,
		now:      d.Now,
		seen:     gocache.New(Retention, 0),
		workers:  d.Workers,
		inflight: map[string]bool{},
		stop:     make(chan struct{}),
		backlog:  make(chan struct{}, 1),
	}
	if ib.now == nil {
		ib.now = time.Now
	}
	if ib.log == nil {
		ib.log = slog.Default()
	}
	if ib.workers <= 0 {
		ib.workers = defaultWorkers
	}
	ib.queue = make(chan Job, 4*ib.workers)
	return ib
}

// Start runs the workers, the backlog feeder and housekeeping (resume pending jobs,
// prune old records) with r doing the work.
func (ib *Inbox) Start(r Runner) {
	ib.runner = r
	for range ib.workers {
		ib.wg.Add(1)
		go ib.work()
	}
	ib.wg.Add(2)
	go ib.housekeep()
	go ib.feedBacklog()
}

// Stop stops taking new work and waits, until ctx ends, for the workers to finish
// what they hold. Jobs not finished stay pending and resume at the next start.
func (ib *Inbox) Stop(ctx context.Context) error {
	ib.stopOnce.Do(func() { close(ib.stop) })
	done := make(chan struct{})
	go func() { ib.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop workers: %w", ctx.Err())
	}
}

// Stopping is closed when the inbox stops: long jobs check it between steps and
// return, to be resumed at the next start.
func (ib *Inbox) Stopping() <-chan struct{} { return ib.stop }

// Accept records a job and queues it, or runs it at once when its kind is not
// queued. The record comes first: once Feishu has its answer, the job survives a
// crash. A job seen before is dropped.
func (ib *Inbox) Accept(ctx context.Context, j Job) {
	payload, err := json.Marshal(j)
	if err != nil { // a job is plain strings; this cannot fail, but never lose it silently
		ib.log.Error("encode job", "key", j.Key, "err", err)
		return
	}
	if !ib.firstSeen(ctx, j.Key, j.Kind, payload) {
		return
	}
	if _, queued := ib.runner.Queued(j.Kind); queued {
		ib.enqueue(j)
		return
	}
	if err := ib.runner.Run(ctx, j); err != nil {
		ib.log.Warn("job failed", "key", j.Key, "kind", j.Kind, "err", err)
		return
	}
	ib.markDone(ctx, j.Key)
}

// Recorded queues a job its caller recorded in the store itself, in a transaction
// of its own (a confirm card's click and the round it starts).
func (ib *Inbox) Recorded(j Job) {
	ib.seen.SetDefault(j.Key, true)
	ib.enqueue(j)
}

// firstSeen records key and reports whether this is its first delivery. When the
// store fails the bot keeps working from memory: a lost dedupe record is better
// than a lost command.
func (ib *Inbox) firstSeen(ctx context.Context, key, kind string, payload []byte) bool {
	if _, dup := ib.seen.Get(key); dup {
		ib.metrics.EventsDeduped.Inc()
		return false
	}
	// The way in giving up (a webhook request cancelled, the long connection
	// closing) must not cut the record short: a recorded event is answered once,
	// whenever Feishu delivers it again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer cancel()
	fresh, err := ib.store.Record(ctx, key, kind, payload, ib.now())
	if err != nil {
		ib.StoreFailed("record event", err)
		fresh = ib.seen.Add(key, true, Retention) == nil
	} else if fresh {
		ib.seen.SetDefault(key, true)
	}
	if !fresh {
		ib.metrics.EventsDeduped.Inc()
	}
	return fresh
}

// StoreFailed counts a store failure and logs it at most once a minute, not once
// per event. An event the store does not know is not one: it came while the store
// was failing and lives in memory only.
func (ib *Inbox) StoreFailed(op string, err error) {
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	ib.metrics.StoreErrors.WithLabelValues(op).Inc()
	now := ib.now().Unix()
	last := ib.storeErrLogged.Load()
	if now-last >= 60 && ib.storeErrLogged.CompareAndSwap(last, now) {
		ib.log.Error("store failing; answering from memory", "op", op, "err", err)
	}
}

func (ib *Inbox) markDone(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer cancel()
	if err := ib.store.MarkDone(ctx, key, ib.now()); err != nil {
		ib.StoreFailed("mark event done", err)
	}
}

// enqueue hands a job to the workers without blocking. A full queue leaves the job
// pending in the store and signals the backlog feeder to queue it as soon as a
// worker is free.
func (ib *Inbox) enqueue(j Job) bool {
	if !ib.claim(j.Key) {
		return false
	}
	select {
	case ib.queue <- j:
		return true
	default:
		ib.release(j.Key)
		select {
		case ib.backlog <- struct{}{}:
		default: // already signalled
		}
		return false
	}
}

// claim marks a job as queued or running, and reports false if it already was.
func (ib *Inbox) claim(key string) bool {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if ib.inflight[key] {
		return false
	}
	ib.inflight[key] = true
	return true
}

func (ib *Inbox) release(key string) {
	ib.mu.Lock()
	delete(ib.inflight, key)
	ib.mu.Unlock()
}

func (ib *Inbox) work() {
	defer ib.wg.Done()
	for {
		select {
		case <-ib.stop:
			return
		case j := <-ib.queue:
			ib.process(j)
			ib.release(j.Key)
		}
	}
}

// process runs one job and records the outcome. A job that failed for a passing
// reason stays pending and is tried again by housekeeping, up to delivery's limit.
func (ib *Inbox) process(j Job) {
	timeout, _ := ib.runner.Queued(j.Kind)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	attempts, err := ib.store.StartAttempt(ctx, j.Key)
	switch {
	case errors.Is(err, store.ErrNotPending):
		return // finished while this copy waited in the queue: answered already
	case err != nil:
		ib.StoreFailed("start attempt", err)
	}
	if delivery.Exhausted(attempts - 1) {
		ib.log.Error("giving up on event", "key", j.Key, "attempts", attempts-1)
		ib.metrics.EventsGivenUp.Inc()
		if err := ib.store.MarkFailed(ctx, j.Key, "too many attempts", ib.now()); err != nil {
			ib.StoreFailed("mark event failed", err)
		}
		return
	}
	if err := ib.runner.Run(ctx, j); err != nil {
		ib.log.Warn("job failed; will retry", "key", j.Key, "kind", j.Kind, "attempt", attempts, "err", err)
		return
	}
	ib.markDone(ctx, j.Key)
	ib.metrics.ReplyLatency.Observe(ib.now().Sub(j.ReceivedAt).Seconds())
}

// housekeepEvery is how often pending jobs are re-queued and old records pruned.
const housekeepEvery = 30 * time.Second

func (ib *Inbox) housekeep() {
	defer ib.wg.Done()
	t := time.NewTicker(housekeepEvery)
	defer t.Stop()
	for {
		ib.resumePending()
		ib.prune()
		ib.seen.DeleteExpired()
		ib.runner.Tidy()
		select {
		case <-ib.stop:
			return
		case <-t.C:
		}
	}
}

// resumePending queues every recorded job not done yet: those left by a crash, a
// full queue, or a run that failed for a passing reason.
func (ib *Inbox) resumePending() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, j := range ib.pendingJobs(ctx, false) {
		if !ib.enqueue(j) && len(ib.queue) == cap(ib.queue) {
			return // queue full: feedBacklog takes the untried rest, the next round the others
		}
	}
}

// feedBacklog queues the jobs a full queue left in the store, each as soon as a
// worker takes the one before, so a burst above the workers' pace is answered at
// their pace rather than a queueful per housekeeping round.
func (ib *Inbox) feedBacklog() {
	defer ib.wg.Done()
	for {
		select {
		case <-ib.stop:
			return
		case <-ib.backlog:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// A job tried before failed for a passing reason: housekeeping retries it
		// at its own pace, not at the pace of the backlog.
		jobs := ib.pendingJobs(ctx, true)
		cancel()
		for _, j := range jobs {
			if !ib.claim(j.Key) {
				continue
			}
			select {
			case ib.queue <- j:
			case <-ib.stop:
				ib.release(j.Key)
				return
			}
		}
	}
}

// pendingJobs reads the recorded jobs not done yet, oldest first; with untried, only
// those no worker has started.
func (ib *Inbox) pendingJobs(ctx context.Context, untried bool) []Job {
	pending, err := ib.store.Pending(ctx)
	if err != nil {
		ib.StoreFailed("list pending events", err)
		return nil
	}
	var jobs []Job
	for _, e := range pending {
		if _, queued := ib.runner.Queued(e.Kind); !queued || (untried && e.Attempts > 0) {
			continue
		}
		var j Job
		if err := json.Unmarshal(e.Payload, &j); err != nil {
			ib.log.Error("drop unreadable pending event", "key", e.Key, "err", err)
			_ = ib.store.MarkFailed(ctx, e.Key, "unreadable payload", ib.now())
			continue
		}
		j.Kind = e.Kind
		ib.seen.SetDefault(j.Key, true)
		jobs = append(jobs, j)
	}
	return jobs
}

func (ib *Inbox) prune() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ib.store.Prune(ctx, ib.now().Add(-Retention)); err != nil {
		ib.StoreFailed("prune events", err)
	}
}
