// Command loadgen puts the acsbot binary under load on loopback: it starts a fake
// Feishu open platform in process (10,000 ACS users, 50 ms a page by default), runs
// the bot against it, sends it events open-loop at a fixed rate (a mix of commands
// from many users and chats, 5% re-deliveries, some page-button clicks), either as
// signed, encrypted webhook posts or as frames on the long connection (-delivery),
// and prints one markdown table row: acks/s, ack latency, replies against
// unique commands, duplicates answered, ACS calls, and the bot's memory and
// goroutines before, right after and a while after the load.
//
// It exits 1 when a command went unanswered or was answered twice, 3 with
// -sustain when the bot did not keep up with the rate, 2 on bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"acsbot/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK        = 0
	exitWrong     = 1 // a command unanswered or answered twice, or the run failed
	exitUsage     = 2
	exitNotKeptUp = 3 // with -sustain: correct, but the bot did not keep up
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := Config{}
	fs.StringVar(&cfg.Bot, "bot", "bin/acsbot", "path of the acsbot binary")
	fs.Float64Var(&cfg.Rate, "rate", 200, "deliveries per second")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long to send")
	fs.IntVar(&cfg.Users, "users", 10000, "ACS directory size")
	fs.DurationVar(&cfg.PageLatency, "page-latency", 50*time.Millisecond, "ACS list latency per page")
	fs.Float64Var(&cfg.DupShare, "dup", 0.05, "share of deliveries that re-deliver an earlier message event")
	fs.IntVar(&cfg.Conns, "conns", 64, "concurrent senders: webhook keep-alive connections, or long-connection pushes awaiting their ack")
	fs.StringVar(&cfg.Delivery, "delivery", config.DeliveryWebhook, "how events reach the bot: webhook (signed, encrypted posts) or websocket (frames on the long connection)")
	fs.DurationVar(&cfg.ReplyWait, "reply-wait", 2*time.Minute, "how long to wait for the last replies after the load")
	fs.DurationVar(&cfg.Settle, "settle", 10*time.Second, "idle time after the replies before the last footprint")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the command mix")
	header := fs.Bool("header", false, "print the markdown table header and exit")
	sustain := fs.Bool("sustain", false, "exit 3 if the bot did not keep up with the rate")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *header {
		fmt.Fprintln(stdout, Header())
		return exitOK
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return exitUsage
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "loadgen: "+format+"\n", a...) }
	r, err := Run(ctx, cfg, logf)
	if err != nil {
		logf("%v", err)
		return exitWrong
	}
	fmt.Fprintln(stdout, r.Row())
	return verdict(r, *sustain, logf)
}

// verdict reports the run's problems and picks the exit code.
func verdict(r Result, sustain bool, logf func(string, ...any)) int {
	logf("bot deduped %d of %d re-deliveries; refused %d commands", r.Deduped, r.Redeliveries, r.Refused)
	if leaks := r.Leaks(); leaks != "" {
		logf("did not come back down: %s", leaks)
	}
	if err := r.Check(); err != nil {
		logf("WRONG: %v", err)
		return exitWrong
	}
	if ok, why := r.Sustained(); !ok {
		logf("not sustained at %.0f/s: %s", r.Rate, why)
		if sustain {
			return exitNotKeptUp
		}
	}
	return exitOK
}

func (c Config) validate() error {
	switch {
	case c.Rate <= 0:
		return fmt.Errorf("-rate must be above 0")
	case c.Duration <= 0 || c.Rate*c.Duration.Seconds() < 1:
		return fmt.Errorf("-duration must send at least one delivery at -rate")
	case c.Users < 1:
		return fmt.Errorf("-users must be at least 1")
	case c.DupShare < 0 || c.DupShare+callbackShare >= 1:
		return fmt.Errorf("-dup must be from 0 to %.2f", 1-callbackShare)
	case c.Conns < 1:
		return fmt.Errorf("-conns must be at least 1")
	case c.Delivery != config.DeliveryWebhook && c.Delivery != config.DeliveryWebSocket:
		return fmt.Errorf("-delivery must be %s or %s", config.DeliveryWebhook, config.DeliveryWebSocket)
	}
	return nil
}
