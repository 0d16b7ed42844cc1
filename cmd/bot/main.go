// Command acsbot is the Feishu bot for smart access control admins.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "time/tzdata" // push.timezone must load on a bare host

	"acsbot/app"
	"acsbot/config"
	"acsbot/demo"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// shutdownGrace bounds how long the work in hand may take at shutdown.
const shutdownGrace = 20 * time.Second

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("acsbot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "config.yaml", "path to the YAML config file")
	addr := fs.String("addr", "", "listen address HOST:PORT (overrides server.addr)")
	demoMode := fs.Bool("demo", false, "run against a local fake Feishu with a console page; needs no config and no network")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *demoMode {
		return runDemo(ctx, fs, *configPath, *addr, log, stderr)
	}

	cfg, err := config.Load(*configPath, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "acsbot: config %s:\n%v\n", *configPath, err)
		return 2
	}
	if *addr != "" {
		cfg.Server.Addr = *addr
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "acsbot: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "acsbot: listen on server.addr %s: %v\n", cfg.Server.Addr, err)
		_ = a.Shutdown(context.Background())
		return 1
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()
	return untilStopped(ctx, served, a.Shutdown, log)
}

// untilStopped waits for a signal (the end of ctx) or for the server to stop on its
// own, then shuts down, giving the work in hand shutdownGrace. It returns the exit code.
func untilStopped(ctx context.Context, served <-chan error, shutdown func(context.Context) error, log *slog.Logger) int {
	select {
	case err := <-served:
		log.Error("server stopped", "err", err)
		_ = shutdown(context.Background())
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// runDemo runs the bot against the in-process fake Feishu and serves the console
// until ctx ends. A -config given explicitly supplies the store path and the other
// settings that are not about Feishu or access.
func runDemo(ctx context.Context, fs *flag.FlagSet, configPath, addr string, log *slog.Logger, stderr io.Writer) int {
	var base *config.Config
	listen := config.Default().Server.Addr
	if flagSet(fs, "config") {
		// The demo brings its own app, so a file made for it need not hold secrets.
		getenv := func(k string) string {
			if v := os.Getenv(k); v != "" {
				return v
			}
			return "replaced-by-the-demo"
		}
		cfg, err := config.Load(configPath, getenv)
		if err != nil {
			fmt.Fprintf(stderr, "acsbot: config %s:\n%v\n", configPath, err)
			return 2
		}
		base, listen = cfg, cfg.Server.Addr
	}
	if addr != "" {
		listen = addr
	}
	d, err := demo.Start(ctx, demo.Options{Addr: listen, Base: base, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "acsbot: demo: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "acsbot demo: open %s in a browser (Ctrl-C stops it)\n", d.URL())
	return untilStopped(ctx, d.Done(), d.Shutdown, log)
}

// flagSet reports whether the command line set the flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
