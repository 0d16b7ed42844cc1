// Package demo runs the real bot against a fake Feishu open platform in one process,
// with a console page that plays the Feishu client: pick who you are and where, type
// a message, and see the bot's cards as Feishu would show them. The console sends
// events and button clicks the way Feishu does: by default as frames over the long
// connection the bot keeps open to the fake, or, with feishu.delivery "webhook",
// signed and encrypted through /webhook/event and /webhook/card. Everything between
// the way in and the Feishu API calls is the production code path.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"acsbot/app"
	"acsbot/config"
	"acsbot/feishufake"
)

// The demo tenant's app and chats.
const (
	appID        = "cli_demo00000000001"
	facilityChat = "oc_de70000000000000000000000f0001" // in access.chats: its members are readers
	lunchChat    = "oc_de70000000000000000000000f0002" // not listed: only admins get answers there
)

// Options configure a demo run.
type Options struct {
	// Addr is the listen address of the console, the bot and the fake platform
	// together; port 0 picks a free one.
	Addr string
	// Base holds the settings of a -config file (store path, language, time
	// zone, cache TTL); its feishu and access keys are replaced by the demo's.
	// Nil: defaults, with the store in a temporary directory.
	Base   *config.Config
	Logger *slog.Logger
}

// Demo is a running demo: fake platform, bot and console on one listener.
type Demo struct {
	url     string
	fake    *feishufake.Server
	app     *app.App
	http    *http.Server
	served  chan error
	tempDir string // removed at Shutdown; "" when the store is the config's
	console *console
	traffic *doorTraffic
}

// Start listens on o.Addr, starts the fake platform and the bot pointed at it, and
// serves the console. The bot's /healthz, /metrics and webhooks are served as in
// production.
func Start(ctx context.Context, o Options) (*Demo, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	d := &Demo{url: "http://" + ln.Addr().String(), served: make(chan error, 1)}
	cfg, err := d.config(o.Base, ln.Addr().String())
	if err != nil {
		_ = ln.Close()
		d.removeTemp()
		return nil, err
	}
	ppl := newPeople()
	if d.tempDir != "" {
		if err := seedHistory(ctx, cfg.Store.Path, ppl.users, cfg.Location(), time.Now()); err != nil {
			_ = ln.Close()
			d.removeTemp()
			return nil, err
		}
	}
	// Feishu fills the verification token into every event header, over the long
	// connection too, where the bot needs none.
	token := cfg.Feishu.VerificationToken.Value()
	if token == "" {
		token = randomSecret()
	}
	d.fake = feishufake.NewHandler(feishufake.Options{
		AppID: appID, AppSecret: cfg.Feishu.AppSecret.Value(),
		VerificationToken: token, EncryptKey: cfg.Feishu.EncryptKey.Value(),
	})
	d.fake.SetUsers(ppl.users)
	d.fake.SetChat(facilityChat, "Facility team")
	d.fake.SetChat(lunchChat, "Lunch")
	d.fake.SetDevices(demoDoors())

	mux := http.NewServeMux()
	mux.Handle("/open-apis/", d.fake.Handler())
	mux.Handle("/callback/ws/", d.fake.Handler()) // the long connection's endpoint and socket
	d.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { d.served <- d.http.Serve(ln) }()

	// The bot asks the platform who it is at start, so the platform must serve first.
	d.app, err = app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		d.stopHTTP(context.Background())
		return nil, fmt.Errorf("start the bot against the demo platform: %w", err)
	}
	d.app.Start()
	bot := d.app.Handler()
	for _, route := range []string{"/webhook/", "/healthz", "/metrics"} {
		mux.Handle(route, bot)
	}
	d.console = newConsole(d.url, cfg.WebSocket(), d.fake, d.app, ppl, log)
	d.console.routes(mux)
	d.console.doorRoutes(mux)
	d.traffic = newDoorTraffic(d.console, ppl.users, time.Now(), cfg.Location())
	d.traffic.start()
	return d, nil
}

// URL is the console's address, e.g. http://127.0.0.1:8080/.
func (d *Demo) URL() string { return d.url + "/" }

// Done is closed when the server stops on its own (its listener failed).
func (d *Demo) Done() <-chan error { return d.served }

// Shutdown stops the console and the bot, finishing the work in hand until ctx ends.
func (d *Demo) Shutdown(ctx context.Context) error {
	d.traffic.Stop()
	err := d.http.Shutdown(ctx)
	if err != nil {
		err = fmt.Errorf("stop the demo server: %w", err)
	}
	err = errors.Join(err, d.app.Shutdown(ctx))
	d.fake.Close()
	d.removeTemp()
	return err
}

// stopHTTP undoes a Start that failed after the server started.
func (d *Demo) stopHTTP(ctx context.Context) {
	_ = d.http.Shutdown(ctx)
	d.fake.Close()
	d.removeTemp()
}

func (d *Demo) removeTemp() {
	if d.tempDir != "" {
		_ = os.RemoveAll(d.tempDir)
	}
}

// config is the bot's configuration for the demo: the base's settings (its
// feishu.delivery included), the demo app's fresh secrets (never shown anywhere),
// the platform at addr, the personas' access and the store in a temporary directory
// unless the base names one.
func (d *Demo) config(base *config.Config, addr string) (*config.Config, error) {
	cfg := config.Default()
	if base != nil {
		cfg = *base
	} else {
		dir, err := os.MkdirTemp("", "acsbot-demo-")
		if err != nil {
			return nil, fmt.Errorf("make a directory for the demo store: %w", err)
		}
		d.tempDir = dir
		cfg.Store.Path = filepath.Join(dir, "acsbot.db")
	}
	cfg.Server.Addr = addr
	cfg.Feishu = config.Feishu{
		AppID:     appID,
		AppSecret: config.Secret(randomSecret()),
		Delivery:  cfg.Feishu.Delivery,
		BaseURL:   "http://" + addr,
	}
	if !cfg.WebSocket() {
		cfg.Feishu.VerificationToken = config.Secret(randomSecret())
		cfg.Feishu.EncryptKey = config.Secret(randomSecret())
	}
	admin, _ := personaByKey("admin")
	cfg.Access = config.Access{Admins: []string{admin.OpenID}, Chats: []string{facilityChat}}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	return &cfg, nil
}

func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on a supported platform
	return hex.EncodeToString(b)
}
