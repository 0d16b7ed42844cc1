// Package app wires the bot together from its config: the store, the Feishu client,
// the directory, the delivery stage, the scheduler, the inbox, the core and the ways
// in. main, the integration tests and the demo all build the bot through it, so they
// run the same thing.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"acsbot/acs"
	"acsbot/bot"
	"acsbot/command"
	"acsbot/config"
	"acsbot/delivery"
	"acsbot/doors"
	"acsbot/feishu"
	"acsbot/handlers"
	"acsbot/inbox"
	"acsbot/metrics"
	"acsbot/scheduler"
	"acsbot/store"
	"acsbot/usage"
)

// Options are the knobs a caller may set besides the config.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CallTimeout bounds one Feishu API call; 0 means 10 s. The fault tests shorten
	// it to see a hung call retried within seconds.
	CallTimeout time.Duration
	// JobTimeout bounds the answer to one command; 0 means 2 minutes.
	JobTimeout time.Duration
}

// App is a built bot, ready to serve.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	store   *store.Store
	inbox   *inbox.Inbox
	bot     *bot.Bot
	server  *handlers.Server
	sched   *scheduler.Scheduler
	metrics *metrics.Metrics
	meter   *usage.Meter
	http    *http.Server
}

// defaultCallTimeout bounds one Feishu API call.
const defaultCallTimeout = 10 * time.Second

// New builds the bot: it opens the store and asks Feishu who the bot is. It fails with
// a clear error when either is impossible.
func New(ctx context.Context, cfg *config.Config, o Options) (*App, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	st, err := store.Open(cfg.Store.Path)
	if err != nil {
		return nil, fmt.Errorf("store.path: %w", err)
	}
	callTimeout := o.CallTimeout
	if callTimeout <= 0 {
		callTimeout = defaultCallTimeout
	}
	m := metrics.New()
	meter := usage.New(usage.Options{
		Store:    st,
		Location: cfg.Location(),
		Quota:    cfg.Feishu.MonthlyQuota,
		Now:      o.Now,
		Metrics:  m,
		Logger:   log,
	})
	fc := feishu.NewClient(feishu.ClientConfig{
		AppID:     cfg.Feishu.AppID,
		AppSecret: cfg.Feishu.AppSecret.Value(),
		BaseURL:   cfg.Feishu.BaseURL,
		Timeout:   callTimeout,
		Logger:    log,
		Metrics:   m,
		Meter:     meter,
	})
	botCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	botID, err := botOpenID(botCtx, st, fc, cfg.Feishu.AppID, log)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("ask Feishu for the bot's identity (check feishu.app_id, app_secret and base_url): %w", err)
	}
	acsRetry := feishu.RetryPolicy{Attempts: 5, BaseDelay: 200 * time.Millisecond, MaxDelay: 10 * time.Second}
	dir := acs.NewDirectory(fc, acs.Options{
		UserIDType:  cfg.ACS.UserIDType,
		TTL:         time.Duration(cfg.ACS.CacheTTL),
		PageTimeout: callTimeout,
		MaxRestarts: 3,
		Retry:       acsRetry,
		Store:       st,
		Metrics:     m,
		Logger:      log,
		Now:         o.Now,
	})
	drs := doors.New(fc, doors.Options{
		Store:       st,
		Location:    cfg.Location(),
		UserIDType:  cfg.ACS.UserIDType,
		CallTimeout: callTimeout,
		Retry:       acsRetry,
		Metrics:     m,
		Logger:      log,
		Now:         o.Now,
	})
	stage := delivery.New(fc, log)
	sched := scheduler.New(scheduler.Deps{
		Store:     st,
		Directory: dir,
		Delivery:  stage,
		Doors:     drs,
		Location:  cfg.Location(),
		Lang:      cfg.Bot.Language,
		Logger:    log,
		Now:       o.Now,
	})
	ib := inbox.New(inbox.Deps{Store: st, Metrics: m, Logger: log, Now: o.Now})
	core, err := bot.New(bot.Deps{
		Config:     cfg,
		Feishu:     fc,
		Delivery:   stage,
		Directory:  dir,
		Doors:      drs,
		Store:      st,
		Inbox:      ib,
		Commands:   command.Default(),
		Scheduler:  sched,
		Metrics:    m,
		Meter:      meter,
		Logger:     log,
		BotOpenID:  botID,
		Now:        o.Now,
		JobTimeout: o.JobTimeout,
	})
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("build the bot: %w", err)
	}
	if keys := cfg.Ignored(); len(keys) > 0 {
		log.Info("config keys ignored with the long connection", "delivery", cfg.Feishu.Delivery, "keys", strings.Join(keys, ", "))
	}
	meter.OnWarning(core.WarnQuota)
	srv := handlers.New(handlers.Deps{
		Config:  cfg,
		Inbox:   ib,
		Clicks:  core,
		Store:   st,
		Metrics: m,
		Logger:  log,
		Status:  core.Status,
		Now:     o.Now,
	})
	return &App{cfg: cfg, log: log, store: st, inbox: ib, bot: core, server: srv, sched: sched, metrics: m, meter: meter}, nil
}

// Handler is the bot's HTTP handler: /healthz, /metrics and, in webhook mode, the
// webhook and card callback.
func (a *App) Handler() http.Handler { return a.server.Handler() }

// Metrics are the app's collectors.
func (a *App) Metrics() *metrics.Metrics { return a.metrics }

// Scheduler is the daily summary scheduler; tests run its passes with their own
// clock instead of waiting for its ticker.
func (a *App) Scheduler() *scheduler.Scheduler { return a.sched }

// Start starts the workers and the daily summaries, then opens the long connection
// (in websocket mode), so that no event arrives before there are workers for it.
// Call it before serving.
func (a *App) Start() {
	a.meter.Start()
	a.inbox.Start(a.bot)
	a.sched.Start()
	a.server.SetReady(true)
	a.server.Connect()
}

// Serve starts the workers and serves on ln until Shutdown. It returns early, with
// the error, when the long connection ends for good: a bot that takes no events
// should exit and be seen to.
func (a *App) Serve(ln net.Listener) error {
	a.Start()
	a.http = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	a.log.Info("acsbot listening", "addr", ln.Addr().String(), "delivery", a.cfg.Feishu.Delivery)
	served := make(chan error, 1)
	go func() { served <- a.http.Serve(ln) }()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	case err := <-a.server.Failed():
		return fmt.Errorf("long connection: %w", err)
	}
}

// Shutdown stops taking events (the long connection first, then HTTP), finishes the
// work in hand until ctx ends, and closes the store. Work not finished stays
// recorded and resumes at the next start.
func (a *App) Shutdown(ctx context.Context) error {
	var errs []error
	if err := a.server.Disconnect(ctx); err != nil {
		errs = append(errs, err)
	}
	if a.http != nil {
		if err := a.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop http: %w", err))
		}
	}
	a.server.SetReady(false)
	if err := a.inbox.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := a.sched.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	a.meter.Stop() // after the work that makes calls, before the store it writes to
	if err := a.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	return errors.Join(errs...)
}
