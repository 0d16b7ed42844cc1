// Package bot is the bot's core: it runs the work the inbox holds (a command in a
// chat message, a menu click, a welcome, a reminder round, a directory update) and
// answers card clicks. Every command in the registry is paired here with the code
// that runs it; one gate decides who may run what, where; every card goes out
// through the delivery stage.
package bot

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"acsbot/acs"
	"acsbot/command"
	"acsbot/config"
	"acsbot/delivery"
	"acsbot/doors"
	"acsbot/feishu"
	"acsbot/inbox"
	"acsbot/metrics"
	"acsbot/scheduler"
	"acsbot/store"
	"acsbot/usage"
)

// Deps is everything the core needs, built by the caller.
type Deps struct {
	Config    *config.Config
	Feishu    *feishu.Client
	Delivery  *delivery.Stage
	Directory *acs.Directory
	Doors     *doors.Service
	Store     *store.Store
	Inbox     *inbox.Inbox
	Commands  *command.Registry
	// Scheduler builds the summary /push now shows.
	Scheduler *scheduler.Scheduler
	Metrics   *metrics.Metrics
	// Meter counts the month's Feishu calls, for /usage and the quota guard.
	Meter     *usage.Meter
	Logger    *slog.Logger
	BotOpenID string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// JobTimeout bounds the answer to one command; 0 means 2 minutes.
	JobTimeout time.Duration
}

// Bot runs commands, clicks and the rest of the work Feishu brings.
type Bot struct {
	cfg       *config.Config
	feishu    *feishu.Client
	deliver   *delivery.Stage
	dir       *acs.Directory
	doors     *doors.Service
	store     *store.Store
	inbox     *inbox.Inbox
	commands  *command.Registry
	sched     *scheduler.Scheduler
	metrics   *metrics.Metrics
	meter     *usage.Meter
	log       *slog.Logger
	botOpenID string
	now       func() time.Time
	gate      gate
	runners   map[string]runner

	jobTimeout time.Duration
	// p2pChats remembers direct chats, so a card click (which does not say what kind
	// of chat it came from) may show an admin full card numbers only where it is safe.
	// welcomed remembers the direct chats greeted in the last day: Feishu sends the
	// "entered" event every time someone opens the chat. Neither has a janitor (see
	// inbox.New); Tidy drops their expired entries.
	p2pChats *gocache.Cache
	welcomed *gocache.Cache
}

// defaultJobTimeout bounds one answer: a cold scan of a large directory plus the reply.
const defaultJobTimeout = 2 * time.Minute

// New builds the core. It fails when a command of the registry has no runner here,
// or a runner no command: each would be a command the bot lists but cannot run, or
// runs but never lists.
func New(d Deps) (*Bot, error) {
	b := &Bot{
		cfg:        d.Config,
		feishu:     d.Feishu,
		deliver:    d.Delivery,
		dir:        d.Directory,
		doors:      d.Doors,
		store:      d.Store,
		inbox:      d.Inbox,
		commands:   d.Commands,
		sched:      d.Scheduler,
		metrics:    d.Metrics,
		meter:      d.Meter,
		log:        d.Logger,
		botOpenID:  d.BotOpenID,
		now:        d.Now,
		gate:       gate{cfg: d.Config},
		jobTimeout: d.JobTimeout,
		p2pChats:   gocache.New(14*24*time.Hour, 0),
		welcomed:   gocache.New(welcomeEvery, 0),
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.jobTimeout <= 0 {
		b.jobTimeout = defaultJobTimeout
	}
	b.runners = b.commandRunners()
	if err := pair(d.Commands, b.runners); err != nil {
		return nil, err
	}
	return b, nil
}

// pair checks that specs and runners name the same commands.
func pair(reg *command.Registry, runners map[string]runner) error {
	var missing, extra []string
	for _, s := range reg.Specs() {
		if _, ok := runners[s.Name]; !ok {
			missing = append(missing, s.Name)
		}
	}
	for name := range runners {
		if _, ok := reg.Lookup(name); !ok {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	switch {
	case len(missing) > 0:
		return fmt.Errorf("commands without a runner: %v", missing)
	case len(extra) > 0:
		return fmt.Errorf("runners without a command in the registry: %v", extra)
	}
	return nil
}

// remindTimeout bounds a reminder round: 30,000 people at 10 a second.
const remindTimeout = time.Hour

// Queued tells the inbox which kinds of work go to its workers, and for how long.
func (b *Bot) Queued(kind string) (time.Duration, bool) {
	switch kind {
	case inbox.KindRemind:
		return remindTimeout, true
	case inbox.KindMessage, inbox.KindBotRemoved, inbox.KindWelcome, inbox.KindMenu, inbox.KindPage:
		return b.jobTimeout, true
	}
	return 0, false
}

// Run does one job of any kind. An error leaves it pending, to be tried again.
func (b *Bot) Run(ctx context.Context, j inbox.Job) error {
	switch j.Kind {
	case inbox.KindBotRemoved:
		return b.botRemoved(ctx, j)
	case inbox.KindRemind:
		return b.remind(ctx, j)
	case inbox.KindWelcome:
		return b.welcome(ctx, j)
	case inbox.KindMenu:
		return b.menu(ctx, j)
	case inbox.KindPage:
		return b.pagePosted(ctx, j)
	case inbox.KindUserUpdated:
		b.userUpdated(j)
		return nil
	case inbox.KindAccessRecord:
		return b.accessRecord(ctx, j)
	default:
		return b.answer(ctx, j)
	}
}

// Tidy drops expired entries from the core's memory; reads already ignore them,
// this only frees their memory.
func (b *Bot) Tidy() {
	b.p2pChats.DeleteExpired()
	b.welcomed.DeleteExpired()
	b.tidyDoors()
}

// Status is what /healthz tells of the core: the directory's size and age, whether
// a full read runs and update events arrive, and the month's Feishu calls (whether
// the quota is used up).
func (b *Bot) Status() map[string]any {
	st := map[string]any{"feishu_calls": b.usageStatus()}
	if snap := b.dir.Cached(); snap != nil {
		st["directory"] = map[string]any{"users": snap.Len(), "age_seconds": int(snap.Age(b.now()).Seconds()),
			"refreshing": b.dir.Refreshing(), "events_missing": b.dir.EventsMissing()}
	}
	return st
}

// userUpdated applies an ACS user change to the snapshot at once: it is cheap, and
// it is deduped like any job, so a re-delivered (older) update cannot undo a newer one.
func (b *Bot) userUpdated(j inbox.Job) {
	id := j.Sender.Of(b.cfg.ACS.UserIDType)
	if id == "" {
		b.dir.MarkStale()
		return
	}
	b.dir.ApplyUpdate(id, intField(j.Extra, "card"), boolField(j.Extra, "face_uploaded"))
}
