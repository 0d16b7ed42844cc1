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
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	cfg, err := config.Load(*configPath, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "acsbot: config %s:\n%v\n", *configPath, err)
		return 2
	}
	if *addr != "" {
		cfg.Server.Addr = *addr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
	select {
	case err := <-served:
		log.Error("server stopped", "err", err)
		_ = a.Shutdown(context.Background())
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
