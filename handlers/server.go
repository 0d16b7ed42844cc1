// Package handlers serves the bot's HTTP routes: the Feishu webhook and card callback
// (through the SDK dispatcher), /healthz and /metrics; it records each event in the
// inbox, answers Feishu at once, and runs the commands on a bounded worker pool.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
	gocache "github.com/patrickmn/go-cache"

	"acsbot/acs"
	"acsbot/command"
	"acsbot/config"
	"acsbot/feishu"
	"acsbot/metrics"
	"acsbot/scheduler"
	"acsbot/store"
)

// Deps is everything the server needs, built by the caller.
type Deps struct {
	Config    *config.Config
	Feishu    *feishu.Client
	Directory *acs.Directory
	Store     *store.Store
	Commands  *command.Registry
	// Scheduler builds the summary /push now shows.
	Scheduler *scheduler.Scheduler
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
	BotOpenID string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Workers is the size of the pool that answers commands; 0 means 8.
	Workers int
	// JobTimeout bounds the answer to one command; 0 means 2 minutes.
	JobTimeout time.Duration
}

// Server is the bot's HTTP side and its worker pool.
type Server struct {
	cfg        *config.Config
	feishu     *feishu.Client
	dir        *acs.Directory
	store      *store.Store
	commands   *command.Registry
	sched      *scheduler.Scheduler
	metrics    *metrics.Metrics
	log        *slog.Logger
	botOpenID  string
	now        func() time.Time
	dispatcher *dispatcher.EventDispatcher
	engine     *gin.Engine

	// seen fronts the store's dedupe and stands in for it while the store is failing.
	seen *gocache.Cache
	// p2pChats remembers direct chats, so a card callback (which does not say what kind
	// of chat it came from) may show an admin full card numbers only where it is safe.
	p2pChats *gocache.Cache
	// welcomed remembers the direct chats greeted in the last day: Feishu sends
	// the "entered" event every time someone opens the chat.
	welcomed *gocache.Cache

	queue      chan job
	workers    int
	jobTimeout time.Duration
	mu         sync.Mutex
	inflight   map[string]bool
	wg         sync.WaitGroup
	stop       chan struct{}
	stopOnce   sync.Once
	ready      atomic.Bool
	// storeErrLogged rate-limits the log line for a failing store to one a minute.
	storeErrLogged atomic.Int64
	// backlog is signalled when a full queue left a job in the store.
	backlog chan struct{}
}

// New builds the server and registers the Feishu handlers. Call Start before serving.
func New(d Deps) *Server {
	s := &Server{
		cfg:       d.Config,
		feishu:    d.Feishu,
		dir:       d.Directory,
		store:     d.Store,
		commands:  d.Commands,
		sched:     d.Scheduler,
		metrics:   d.Metrics,
		log:       d.Logger,
		botOpenID: d.BotOpenID,
		now:       d.Now,
		// No janitors (cleanup interval 0): go-cache stops one only when its cache is
		// garbage collected, so each Server would leave three goroutines behind after
		// Stop. Housekeeping deletes expired entries instead.
		seen:       gocache.New(dedupeRetention, 0),
		p2pChats:   gocache.New(14*24*time.Hour, 0),
		welcomed:   gocache.New(welcomeEvery, 0),
		workers:    d.Workers,
		jobTimeout: d.JobTimeout,
		inflight:   map[string]bool{},
		stop:       make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.workers <= 0 {
		s.workers = 8
	}
	if s.jobTimeout <= 0 {
		s.jobTimeout = defaultJobTimeout
	}
	s.queue = make(chan job, 4*s.workers)
	s.backlog = make(chan struct{}, 1)
	s.dispatcher = dispatcher.NewEventDispatcher(d.Config.Feishu.VerificationToken.Value(), d.Config.Feishu.EncryptKey.Value())
	s.dispatcher.InitConfig(larkevent.WithLogger(sdkLogger{}))
	s.dispatcher.
		OnP2MessageReceiveV1(s.onMessage).
		OnP2UserUpdatedV1(s.onUserUpdated).
		OnP2ChatMemberBotDeletedV1(s.onBotRemoved).
		OnP2ChatMemberBotAddedV1(s.onBotAdded).
		OnP2ChatAccessEventBotP2pChatEnteredV1(s.onChatEntered).
		OnP2BotMenuV6(s.onMenu).
		OnP2CardActionTrigger(s.onCardAction)
	s.engine = s.routes()
	return s
}

// dedupeRetention is how long a handled event is remembered: well past Feishu's
// retry ladder (15 s, 5 min, 1 h, 6 h) and past the replay window.
const dedupeRetention = 48 * time.Hour

func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, err any) {
		s.log.Error("handler panic", "path", c.Request.URL.Path, "panic", fmt.Sprint(err))
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"msg": "internal error"})
	}))
	r.POST("/webhook/event", s.webhook)
	r.POST("/webhook/card", s.webhook)
	r.GET("/healthz", s.healthz)
	r.GET("/metrics", gin.WrapH(s.metrics.Handler()))
	return r
}

// Handler is the HTTP handler with every route.
func (s *Server) Handler() http.Handler { return s.engine }

// Start starts the workers and the housekeeping loop (resume pending events, prune
// old records), and marks the server ready.
func (s *Server) Start() {
	for i := 0; i < s.workers; i++ {
		s.wg.Add(1)
		go s.work()
	}
	s.wg.Add(2)
	go s.housekeep()
	go s.feedBacklog()
	s.ready.Store(true)
}

// Stop stops taking new work, lets the workers finish what they hold until ctx ends,
// and returns. Jobs not finished stay pending in the store and resume at next start.
func (s *Server) Stop(ctx context.Context) error {
	s.ready.Store(false)
	s.stopOnce.Do(func() { close(s.stop) })
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop workers: %w", ctx.Err())
	}
}

func (s *Server) healthz(c *gin.Context) {
	body := gin.H{"status": "ok"}
	status := http.StatusOK
	if !s.ready.Load() {
		body["status"], status = "starting", http.StatusServiceUnavailable
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.storeFailed("health probe", err)
		body["status"], body["store"], status = "unhealthy", "failing", http.StatusServiceUnavailable
	} else {
		body["store"] = "ok"
	}
	if snap := s.dir.Cached(); snap != nil {
		body["directory"] = gin.H{"users": snap.Len(), "age_seconds": int(snap.Age(s.now()).Seconds())}
	}
	c.JSON(status, body)
}

// onMessage records a chat message and queues it for an answer.
func (s *Server) onMessage(ctx context.Context, ev *larkim.P2MessageReceiveV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base); err != nil {
		return err
	}
	j, err := jobFromMessage(ev, s.now())
	if err != nil {
		return refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("im.message.receive_v1").Inc()
	s.accept(ctx, j)
	return nil
}

// onUserUpdated applies an ACS user change to the snapshot at once: it is cheap, and
// a re-delivered (older) update must not undo a newer one, so it is deduped too.
func (s *Server) onUserUpdated(ctx context.Context, ev *larkacs.P2UserUpdatedV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base); err != nil {
		return err
	}
	if ev.Event == nil || ev.EventV2Base.Header.EventID == "" {
		return refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues("acs.user.updated_v1").Inc()
	if !s.firstSeen(ctx, ev.EventV2Base.Header.EventID, "acs.user.updated_v1", nil) {
		return nil
	}
	var id string
	if u := ev.Event.UserId; u != nil {
		id = ids{OpenID: deref(u.OpenId), UnionID: deref(u.UnionId), UserID: deref(u.UserId)}.of(s.cfg.ACS.UserIDType)
	}
	if id == "" {
		s.dir.MarkStale()
	} else {
		s.dir.ApplyUpdate(id, ev.Event.Card, ev.Event.FaceUploaded)
	}
	s.markDone(ev.EventV2Base.Header.EventID)
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// firstSeen records key in the inbox and reports whether this is its first delivery.
// When the store fails the bot keeps working from memory: a lost dedupe record is
// better than a lost command.
func (s *Server) firstSeen(ctx context.Context, key, kind string, payload []byte) bool {
	if _, dup := s.seen.Get(key); dup {
		s.metrics.EventsDeduped.Inc()
		return false
	}
	fresh, err := s.store.Record(ctx, key, kind, payload, s.now())
	if err != nil {
		s.storeFailed("record event", err)
		fresh = s.seen.Add(key, true, dedupeRetention) == nil
	} else if fresh {
		s.seen.SetDefault(key, true)
	}
	if !fresh {
		s.metrics.EventsDeduped.Inc()
	}
	return fresh
}

// storeFailed counts a store failure and logs it at most once a minute, not once
// per event. An event the store does not know is not one: it came while the store
// was failing and lives in memory only.
func (s *Server) storeFailed(op string, err error) {
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	s.metrics.StoreErrors.WithLabelValues(op).Inc()
	now := s.now().Unix()
	last := s.storeErrLogged.Load()
	if now-last >= 60 && s.storeErrLogged.CompareAndSwap(last, now) {
		s.log.Error("store failing; answering from memory", "op", op, "err", err)
	}
}

func (s *Server) markDone(key string) {
	if err := s.store.MarkDone(context.Background(), key, s.now()); err != nil {
		s.storeFailed("mark event done", err)
	}
}
