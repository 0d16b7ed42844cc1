// Package handlers is the bot's ways in: Feishu's long connection (the SDK's
// WebSocket client) or the webhook and card callback routes, both through the one
// SDK dispatcher, the checks the SDK does not make, and /healthz and /metrics. Each
// Feishu event becomes a job for the inbox, each card click a question for the core;
// nothing here knows a command, a card or the directory, and nothing below here
// knows which way an event came.
package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"

	"acsbot/config"
	"acsbot/inbox"
	"acsbot/metrics"
	"acsbot/store"
)

// Clicks answers card clicks; the core does.
type Clicks interface {
	Click(ctx context.Context, c inbox.Click) inbox.Answer
}

// Deps is everything the ways in need, built by the caller.
type Deps struct {
	Config  *config.Config
	Inbox   *inbox.Inbox
	Clicks  Clicks
	Store   *store.Store
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Status adds the core's fields to /healthz; nil adds none.
	Status func() map[string]any
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the bot's HTTP side.
type Server struct {
	cfg        *config.Config
	inbox      *inbox.Inbox
	clicks     Clicks
	store      *store.Store
	metrics    *metrics.Metrics
	log        *slog.Logger
	status     func() map[string]any
	now        func() time.Time
	dispatcher *dispatcher.EventDispatcher
	engine     *gin.Engine
	ready      atomic.Bool
	// lc is the long connection; nil in webhook mode.
	lc *longConn
}

func init() {
	// gin's mode is process-wide; the bot never runs it in debug mode.
	gin.SetMode(gin.ReleaseMode)
}

// New builds the server and registers the Feishu handlers. Call SetReady once the
// work behind it runs.
func New(d Deps) *Server {
	s := &Server{
		cfg:     d.Config,
		inbox:   d.Inbox,
		clicks:  d.Clicks,
		store:   d.Store,
		metrics: d.Metrics,
		log:     d.Logger,
		status:  d.Status,
		now:     d.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	// Over the long connection events come in plain text, authenticated by the
	// connection, and the SDK wants a dispatcher with neither token nor key.
	if d.Config.WebSocket() {
		s.dispatcher = dispatcher.NewEventDispatcher("", "")
	} else {
		s.dispatcher = dispatcher.NewEventDispatcher(d.Config.Feishu.VerificationToken.Value(), d.Config.Feishu.EncryptKey.Value())
	}
	s.dispatcher.InitConfig(larkevent.WithLogger(sdkLogger{}))
	s.dispatcher.
		OnP2MessageReceiveV1(s.onMessage).
		OnP2UserUpdatedV1(s.onUserUpdated).
		OnP2AccessRecordCreatedV1(s.onAccessRecord).
		OnP2ChatMemberBotDeletedV1(s.onBotRemoved).
		OnP2ChatMemberBotAddedV1(s.onBotAdded).
		OnP2ChatAccessEventBotP2pChatEnteredV1(s.onChatEntered).
		OnP2BotMenuV6(s.onMenu).
		OnP2CardActionTrigger(s.onCardAction)
	if d.Config.WebSocket() {
		s.lc = newLongConn(s)
	}
	s.engine = s.routes()
	return s
}

func (s *Server) routes() *gin.Engine {
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, err any) {
		s.log.Error("handler panic", "path", c.Request.URL.Path, "panic", fmt.Sprint(err))
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"msg": "internal error"})
	}))
	// With the long connection nothing on the HTTP port takes events: /webhook/*
	// is not served, so it needs no token and cannot be abused.
	if s.lc == nil {
		r.POST("/webhook/event", s.webhook)
		r.POST("/webhook/card", s.webhook)
	}
	r.GET("/healthz", s.healthz)
	r.GET("/metrics", gin.WrapH(s.metrics.Handler()))
	return r
}

// Connect opens the long connection and keeps it open until Disconnect; it returns
// at once. It does nothing in webhook mode.
func (s *Server) Connect() {
	if s.lc != nil {
		s.lc.start()
	}
}

// Disconnect stops taking events from the long connection and waits, until ctx
// ends, for those in hand to be recorded. It does nothing in webhook mode.
func (s *Server) Disconnect(ctx context.Context) error {
	if s.lc == nil {
		return nil
	}
	return s.lc.stop(ctx)
}

// Failed receives the error that ended the long connection for good (the app
// refused, the reconnect attempts spent): the bot then takes no more events. It
// never receives in webhook mode.
func (s *Server) Failed() <-chan error {
	if s.lc == nil {
		return nil
	}
	return s.lc.failed
}

// Handler is the HTTP handler with every route.
func (s *Server) Handler() http.Handler { return s.engine }

// SetReady says whether the bot takes work: /healthz answers 503 until it does, and
// again once it stops.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

func (s *Server) healthz(c *gin.Context) {
	body := gin.H{"status": "ok"}
	status := http.StatusOK
	if !s.ready.Load() {
		body["status"], status = "starting", http.StatusServiceUnavailable
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.inbox.StoreFailed("health probe", err)
		body["status"], body["store"], status = "unhealthy", "failing", http.StatusServiceUnavailable
	} else {
		body["store"] = "ok"
	}
	if s.lc != nil {
		state, lastErr := s.lc.status()
		body["long_connection"] = state
		if lastErr != "" {
			body["long_connection_error"] = lastErr
		}
		if state != connUp && status == http.StatusOK {
			// Up and ready, yet no event can reach the bot.
			body["status"], status = "disconnected", http.StatusServiceUnavailable
		}
	}
	if s.status != nil {
		maps.Copy(body, s.status())
	}
	c.JSON(status, body)
}
