package acs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"acsbot/feishu"
	"acsbot/metrics"
)

// Options configure a Directory. Zero values get the defaults noted.
type Options struct {
	UserIDType  string        // open_id (default), union_id or user_id
	TTL         time.Duration // how old a snapshot may grow before a full read; default 24 hours
	PageTimeout time.Duration // bounds one ACS call; 0: only the client's timeout
	MaxRestarts int           // scan restarts allowed after 1490018 (invalid page token)
	Retry       feishu.RetryPolicy
	Store       SnapshotStore    // keeps the snapshot across restarts; nil: memory only
	Metrics     *metrics.Metrics // nil: counted in a private registry
	Logger      *slog.Logger     // nil: slog.Default()
	Now         func() time.Time // nil: time.Now; stamps snapshots and judges their age
}

const (
	defaultTTL = 24 * time.Hour
	// fallbackTTL caps the TTL while update events seem not to arrive: only full
	// reads bring changes in then.
	fallbackTTL = time.Hour
	// storeTimeout bounds one store call. The directory makes them for an event or
	// a background read, with no caller's deadline to borrow.
	storeTimeout = 30 * time.Second
	// lookupTimeout bounds fetching one unknown user, retries included.
	lookupTimeout = time.Minute
	scanKey       = "scan"
	subscribeHint = "subscribe the app to the event acs.user.updated_v1 (scope acs:users) in the developer console"
)

// Directory is the ACS user directory: the latest snapshot, kept in the store across
// restarts, kept current by update events, and read in full again only when it is
// older than the TTL or on Refresh, with one full read at a time however many ask.
type Directory struct {
	c        *feishu.Client
	o        Options
	maxPages int // defaultMaxPages; lowered by tests

	// last is the latest snapshot, fresh or stale; served while a new one loads.
	last atomic.Pointer[Snapshot]
	// stale: MarkStale asked for a full read whatever the snapshot's age.
	stale atomic.Bool
	// eventsMissing: a full read found changes no update event announced, and no
	// event came since; the TTL is capped at fallbackTTL meanwhile.
	eventsMissing atomic.Bool
	// scans joins concurrent scans into one.
	scans singleflight.Group
	// scanning counts running scans (0 or 1, thanks to scans); Refreshing reads it.
	scanning atomic.Int32
	// background is set while a background refresh goroutine runs.
	background atomic.Bool

	// mu orders publishing and storing: ApplyUpdate, a lookup and a scan finishing
	// must not lose each other's changes, and the store must get them in the order
	// they were published. Readers never take it.
	mu sync.Mutex
	// During a scan, updates are also remembered here and replayed on its result:
	// the scan may have read that user's page before the change.
	pending []update
	// staleDuringScan: MarkStale came during a scan, whose result may predate it,
	// so the result is published as stale.
	staleDuringScan bool
	// lookups holds, for each unknown user being fetched, the updates that arrived
	// for them meanwhile: applied to what the fetch returns.
	lookups map[string][]update
}

type update struct {
	id   string
	card *int
	face *bool
	// add: the user was fetched on their own; a scan result that lacks them gets them.
	add bool
}

// NewDirectory builds a directory on c and loads the snapshot o.Store holds, if it
// holds one of o.UserIDType; otherwise the first Get reads the directory in full.
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
	d := &Directory{c: c, o: o, maxPages: defaultMaxPages, lookups: map[string][]update{}}
	if o.Store != nil {
		d.load()
	}
	return d
}

// load publishes the stored snapshot. A store that fails costs one full read, not
// the start: the bot can answer without it.
func (d *Directory) load() {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	st, ok, err := d.o.Store.LoadDirectory(ctx)
	switch {
	case err != nil:
		d.o.Metrics.StoreErrors.WithLabelValues("directory load").Inc()
		d.o.Logger.WarnContext(ctx, "could not load the stored acs directory; the first question reads it in full", "err", err)
	case !ok:
		d.o.Logger.InfoContext(ctx, "no stored acs directory yet; the first question reads it in full")
	case st.UserIDType != d.o.UserIDType:
		d.o.Logger.InfoContext(ctx, "the stored acs directory holds other ids than acs.user_id_type names; the first question reads it in full",
			"stored", st.UserIDType, "user_id_type", d.o.UserIDType)
	default:
		s := newSnapshot(st.TakenAt, st.Users)
		d.last.Store(s)
		d.eventsMissing.Store(st.EventsMissing)
		d.o.Logger.InfoContext(ctx, "loaded the stored acs directory", "users", s.Len(), "age", s.Age(d.o.Now()).Round(time.Second))
		if st.EventsMissing {
			d.o.Logger.WarnContext(ctx, "acs user update events did not arrive before the restart: "+subscribeHint+
				"; until one arrives the directory is read in full hourly")
		}
	}
}

// Get returns the directory: the snapshot at once, and when it is due for a full
// read (older than the TTL, or marked stale) one background read starts while the
// old snapshot is served. Only with no snapshot at all does the caller wait, for a
// read shared with every concurrent caller.
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

// MarkStale makes the next Get serve the current snapshot and read the directory in
// full: for a change the bot heard of but cannot apply (an update event that names
// no user in acs.user_id_type).
func (d *Directory) MarkStale() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stale.Store(true)
	if d.scanning.Load() > 0 {
		d.staleDuringScan = true
	}
}

// EventsMissing reports whether update events seem not to arrive: a full read found
// face or card changes no acs.user.updated_v1 event announced, and no event came
// since. Meanwhile the directory is read in full when older than an hour.
func (d *Directory) EventsMissing() bool { return d.eventsMissing.Load() }

// ApplyUpdate applies an acs.user.updated_v1 event (nil leaves a value as it is).
// For a user the snapshot holds, it publishes and stores a copy with the change and
// reports true. For a user it lacks, it reports false and fetches that one user in
// the background (GET /acs/v1/users/:user_id), to be added. With no snapshot yet it
// reports false and does nothing more: the first read sees the change.
func (d *Directory) ApplyUpdate(id string, card *int, faceUploaded *bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.eventArrived()
	u := update{id: id, card: card, face: faceUploaded}
	if d.scanning.Load() > 0 {
		// Replayed on the running scan's result.
		d.pending = append(d.pending, u)
	}
	s := d.last.Load()
	if s == nil {
		return false
	}
	i, ok := s.find(id)
	if !ok {
		d.lookUp(u)
		return false
	}
	ns := s.withUpdate(i, card, faceUploaded)
	d.persist("directory user", func(ctx context.Context, st SnapshotStore) error {
		return st.SaveDirectoryUser(ctx, ns.users[i])
	})
	d.last.Store(ns)
	return true
}

// eventArrived ends the hourly fallback: update events come after all. Called with mu held.
func (d *Directory) eventArrived() {
	if !d.eventsMissing.Load() {
		return
	}
	d.persist("directory events flag", func(ctx context.Context, st SnapshotStore) error {
		return st.SetEventsMissing(ctx, false)
	})
	d.eventsMissing.Store(false)
	d.o.Logger.Info("acs user update events arrive again; the directory is read in full only when older than acs.cache_ttl",
		"cache_ttl", d.o.TTL)
}

// lookUp starts fetching a user the snapshot lacks, unless their fetch already
// runs: then u waits for its result. u itself is not replayed: the fetch starts
// after it, so it returns u's change or a newer one. Called with mu held.
func (d *Directory) lookUp(u update) {
	if waiting, ok := d.lookups[u.id]; ok {
		d.lookups[u.id] = append(waiting, u)
		return
	}
	d.lookups[u.id] = nil
	go d.fetchAndAdd(u.id)
}

// fetchAndAdd fetches one user and adds them to the snapshot. A failure leaves them
// out until the next full read: a user the bot never saw is no worse off.
func (d *Directory) fetchAndAdd(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	u, found, err := d.fetchUser(ctx, id)

	d.mu.Lock()
	defer d.mu.Unlock()
	later := d.lookups[id]
	delete(d.lookups, id)
	switch {
	case err != nil:
		d.o.Logger.WarnContext(ctx, "could not fetch the acs user an update event named; the next full read adds them",
			"user_id", id, "err", err)
		return
	case !found:
		d.o.Logger.InfoContext(ctx, "an update event named a user in no acs permission group; not added", "user_id", id)
		return
	}
	for _, l := range later {
		if l.card != nil {
			u.Card = *l.card
		}
		if l.face != nil {
			u.FaceUploaded = *l.face
		}
	}
	if d.scanning.Load() > 0 {
		// The running scan may have read the user's page before they were listed.
		d.pending = append(d.pending, update{id: u.ID, card: &u.Card, face: &u.FaceUploaded, add: true})
	}
	d.persist("directory user", func(ctx context.Context, st SnapshotStore) error {
		return st.SaveDirectoryUser(ctx, u)
	})
	d.last.Store(d.last.Load().withUser(u))
	d.o.Logger.InfoContext(ctx, "added the acs user an update event named", "user_id", id)
}

// persist runs one store call, if there is a store. Every change is stored before it
// is published, so whatever a reader saw survives a restart. A failure is logged and
// counted, and the change is published all the same: the answers stay right, a
// restart loads older data, and the next full read stores everything again.
func (d *Directory) persist(op string, call func(ctx context.Context, st SnapshotStore) error) {
	if d.o.Store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := call(ctx, d.o.Store); err != nil {
		d.o.Metrics.StoreErrors.WithLabelValues(op).Inc()
		d.o.Logger.WarnContext(ctx, "could not store the acs directory; a restart would load older data", "op", op, "err", err)
	}
}

// freshSnapshot is the latest snapshot unless it is due for a full read.
func (d *Directory) freshSnapshot() *Snapshot {
	s := d.last.Load()
	if s == nil || d.stale.Load() {
		return nil
	}
	ttl := d.o.TTL
	if d.eventsMissing.Load() {
		ttl = min(ttl, fallbackTTL)
	}
	if s.Age(d.o.Now()) >= ttl {
		return nil
	}
	return s
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
// one caller gives up (others may still wait, and its result is kept); each
// caller stops waiting when its own ctx ends. A caller that starts a new flight
// takes reuse's snapshot instead of scanning when it has one: between looking at
// the snapshot and getting here, the previous flight may have just published.
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
	// A read MarkStale asked for finds the change the event could not name: that
	// change was announced, so this read is no evidence of missing events.
	judge := !d.stale.Load()
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
		switch {
		case ok:
			s = s.withUpdate(i, u.card, u.face)
		case u.add:
			s = s.withUser(User{ID: u.id, Card: *u.card, FaceUploaded: *u.face})
		}
		// Otherwise the read did not list the user: the lookup ApplyUpdate started
		// adds them (before the first read none starts; that read lists everyone).
	}
	// Changes the snapshot, kept current by events, lacks were not announced: update
	// events are probably not subscribed. Said once, until an event arrives again.
	missing := d.eventsMissing.Load()
	if prev := d.last.Load(); judge && prev != nil && !missing {
		if n := s.changedFrom(prev); n > 0 {
			missing = true
			d.o.Logger.WarnContext(ctx, "a full read of the acs directory found face or card changes no update event announced: "+
				subscribeHint+"; until an event arrives the directory is read in full hourly", "changes", n)
		}
	}
	d.persist("directory save", func(ctx context.Context, st SnapshotStore) error {
		return st.SaveDirectory(ctx, StoredDirectory{UserIDType: d.o.UserIDType, TakenAt: s.TakenAt,
			EventsMissing: missing, Users: s.users})
	})
	d.last.Store(s)
	d.eventsMissing.Store(missing)
	d.stale.Store(stale)
	d.o.Logger.InfoContext(ctx, "acs directory scanned", "users", s.Len(), "took", time.Since(start))
	return s, nil
}
