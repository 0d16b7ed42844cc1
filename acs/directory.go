package acs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"

	"acsbot/feishu"
	"acsbot/metrics"
)

// Options configure a Directory. Zero values get the defaults noted.
type Options struct {
	UserIDType  string        // open_id (default), union_id or user_id
	TTL         time.Duration // how long a snapshot counts as fresh; default 10 minutes
	PageTimeout time.Duration // bounds one list call; 0: only the client's timeout
	MaxRestarts int           // scan restarts allowed after 1490018 (invalid page token)
	Retry       feishu.RetryPolicy
	Metrics     *metrics.Metrics // nil: counted in a private registry
	Logger      *slog.Logger     // nil: slog.Default()
	Now         func() time.Time // nil: time.Now; stamps snapshots
}

const (
	defaultTTL  = 10 * time.Minute
	snapshotKey = "snapshot"
	scanKey     = "scan"
)

// Directory is the ACS user directory: the latest snapshot, refreshed from Feishu
// when it goes stale, with one scan at a time however many ask.
type Directory struct {
	c        *feishu.Client
	o        Options
	maxPages int // defaultMaxPages; lowered by tests

	// fresh holds the latest snapshot until TTL expires: found means fresh.
	fresh *gocache.Cache
	// last is the latest snapshot, fresh or stale; served while a new one loads.
	last atomic.Pointer[Snapshot]
	// scans joins concurrent scans into one.
	scans singleflight.Group
	// scanning counts running scans (0 or 1, thanks to scans); Refreshing reads it.
	scanning atomic.Int32
	// background is set while a background refresh goroutine runs.
	background atomic.Bool

	// mu orders publishing: ApplyUpdate and a scan finishing must not lose each
	// other's changes.
	mu sync.Mutex
	// During a scan, updates are also remembered here and replayed on its result:
	// the scan may have read that user's page before the change.
	pending []update
	// staleDuringScan: MarkStale (or an update for an unknown user) came during a
	// scan, whose result may predate it, so the result is published as stale.
	staleDuringScan bool
}

type update struct {
	id   string
	card *int
	face *bool
}

// NewDirectory builds a directory on c. Nothing is fetched until the first Get.
func NewDirectory(c *feishu.Client, o Options) *Directory {
	if o.UserIDType == "" {
		o.UserIDType = "open_id"
	}
	if o.TTL <= 0 {
		o.TTL = defaultTTL
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// No janitor goroutine: there is one key, and an expired one is simply not found.
	return &Directory{c: c, o: o, maxPages: defaultMaxPages, fresh: gocache.New(o.TTL, 0)}
}

// Get returns the directory: the cached snapshot when fresh; the stale one at once
// while one background refresh runs; otherwise a cold scan shared with every
// concurrent caller.
func (d *Directory) Get(ctx context.Context) (*Snapshot, error) {
	if s := d.freshSnapshot(); s != nil {
		d.o.Metrics.CacheLookups.WithLabelValues("hit").Inc()
		return s, nil
	}
	if s := d.last.Load(); s != nil {
		d.o.Metrics.CacheLookups.WithLabelValues("stale").Inc()
		d.refreshInBackground(ctx)
		return s, nil
	}
	d.o.Metrics.CacheLookups.WithLabelValues("miss").Inc()
	s, err := d.shared(ctx, d.Cached)
	if err != nil {
		return nil, fmt.Errorf("load the acs directory: %w", err)
	}
	return s, nil
}

// Cached is the latest snapshot, fresh or stale, or nil before the first scan. It
// never scans: card callbacks must answer within 3 s.
func (d *Directory) Cached() *Snapshot { return d.last.Load() }

// Refresh scans now (or joins the scan already running) and returns its result.
func (d *Directory) Refresh(ctx context.Context) (*Snapshot, error) {
	s, err := d.shared(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("refresh the acs directory: %w", err)
	}
	return s, nil
}

// MarkStale makes the next Get serve the current snapshot and refresh it.
func (d *Directory) MarkStale() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.markStaleLocked()
}

func (d *Directory) markStaleLocked() {
	d.fresh.Delete(snapshotKey)
	if d.scanning.Load() > 0 {
		d.staleDuringScan = true
	}
}

// ApplyUpdate applies an acs.user.updated_v1 event: it publishes a copy of the
// snapshot with the user's card and/or face flag changed (nil leaves a value as it
// is) and reports true. For a user the snapshot does not know, or before the first
// scan, it reports false and marks the directory stale, so the next Get fetches them.
func (d *Directory) ApplyUpdate(id string, card *int, faceUploaded *bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.scanning.Load() > 0 {
		// Replayed on the running scan's result, which then also settles whether an
		// unknown user is known now.
		d.pending = append(d.pending, update{id: id, card: card, face: faceUploaded})
	}
	s := d.last.Load()
	if s == nil {
		return false // the first Get scans anyway
	}
	i, ok := s.find(id)
	if !ok {
		d.fresh.Delete(snapshotKey)
		return false
	}
	ns := s.withUpdate(i, card, faceUploaded)
	d.last.Store(ns)
	// Keep the fresh entry's expiry: an update does not make the rest of the data newer.
	if _, exp, found := d.fresh.GetWithExpiration(snapshotKey); found {
		if left := time.Until(exp); left > 0 {
			d.fresh.Set(snapshotKey, ns, left)
		}
	}
	return true
}

func (d *Directory) freshSnapshot() *Snapshot {
	if v, ok := d.fresh.Get(snapshotKey); ok {
		return v.(*Snapshot)
	}
	return nil
}

// Refreshing reports whether a scan is running or about to (cards show "refreshing…").
func (d *Directory) Refreshing() bool { return d.scanning.Load() > 0 || d.background.Load() }

// refreshInBackground starts one background scan unless one is already running.
// A failure keeps the old snapshot; it is logged, and the next Get tries again.
func (d *Directory) refreshInBackground(ctx context.Context) {
	if !d.background.CompareAndSwap(false, true) {
		return
	}
	bg := context.WithoutCancel(ctx) // the asker has its answer; the scan outlives its request
	go func() {
		defer d.background.Store(false)
		if _, err := d.shared(bg, d.freshSnapshot); err != nil {
			d.o.Logger.WarnContext(bg, "background acs directory refresh failed, still serving the old snapshot", "err", err)
		}
	}()
}

// shared runs one scan for every concurrent caller. The scan does not stop when
// one caller gives up (others may still wait, and its result is cached); each
// caller stops waiting when its own ctx ends. A caller that starts a new flight
// takes reuse's snapshot instead of scanning when it has one: between looking at
// the cache and getting here, the previous flight may have just published.
func (d *Directory) shared(ctx context.Context, reuse func() *Snapshot) (*Snapshot, error) {
	ch := d.scans.DoChan(scanKey, func() (any, error) {
		if reuse != nil {
			if s := reuse(); s != nil {
				return s, nil
			}
		}
		return d.scanAndPublish(context.WithoutCancel(ctx))
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Snapshot), nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (d *Directory) scanAndPublish(ctx context.Context) (*Snapshot, error) {
	d.mu.Lock()
	d.scanning.Add(1)
	d.pending, d.staleDuringScan = nil, false
	d.mu.Unlock()

	start := time.Now()
	takenAt := d.o.Now()
	users, err := d.scan(ctx)
	var s *Snapshot
	if err == nil {
		s = newSnapshot(takenAt, users) // sorting 100k users: outside the lock
		d.o.Metrics.ScanDuration.Observe(time.Since(start).Seconds())
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.scanning.Add(-1)
	pending, stale := d.pending, d.staleDuringScan
	d.pending, d.staleDuringScan = nil, false
	if err != nil {
		return nil, err
	}
	for _, u := range pending {
		i, ok := s.find(u.id)
		if !ok {
			stale = true
			continue
		}
		s = s.withUpdate(i, u.card, u.face)
	}
	d.last.Store(s)
	if stale {
		d.fresh.Delete(snapshotKey)
	} else {
		d.fresh.Set(snapshotKey, s, d.o.TTL)
	}
	d.o.Logger.InfoContext(ctx, "acs directory scanned", "users", s.Len(), "took", time.Since(start))
	return s, nil
}
