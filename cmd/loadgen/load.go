package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"acsbot/config"
	"acsbot/feishufake"
)

// Config is one load run.
type Config struct {
	Bot         string        // path of the acsbot binary
	Rate        float64       // deliveries per second
	Duration    time.Duration // how long to send
	Users       int           // ACS directory size
	PageLatency time.Duration // ACS list latency per page
	DupShare    float64       // share of deliveries that re-deliver an earlier message
	Conns       int           // concurrent senders: keep-alive connections, or pushes awaiting their ack
	ReplyWait   time.Duration // how long to wait for the last replies after the load
	Settle      time.Duration // idle time before the last footprint
	Seed        uint64
	// Delivery is how events reach the bot: config.DeliveryWebhook (signed,
	// encrypted posts) or config.DeliveryWebSocket (frames on the long connection).
	Delivery string
}

// warmupTimeout bounds the warm-up command, which waits for a cold directory scan.
const warmupTimeout = 3 * time.Minute

// Run starts the fake platform and the bot, warms the bot's directory up, sends the
// load, waits for the replies, and measures. logf gets progress lines.
func Run(ctx context.Context, cfg Config, logf func(format string, args ...any)) (Result, error) {
	r := Result{Rate: cfg.Rate, Duration: cfg.Duration}
	p := newPlatform(cfg.Users, cfg.PageLatency, cfg.Delivery)
	defer p.Close()

	n := int(cfg.Rate * cfg.Duration.Seconds())
	logf("building %d deliveries by %s", n, cfg.Delivery)
	pl, err := buildPlan(ctx, p, n, cfg.DupShare, cfg.Seed)
	if err != nil {
		return r, err
	}
	r.Unique = len(pl.messageIDs)

	dir, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return r, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	cfgPath, env, err := p.writeConfig(dir)
	if err != nil {
		return r, err
	}
	bot, err := startBot(ctx, cfg.Bot, cfgPath, env, dir)
	if err != nil {
		return r, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = bot.stop()
		}
	}()

	send, closeIdle := p.sender(bot.url, cfg.Conns)
	logf("bot at %s; warming up its directory (%d users, %s a page)", bot.url, cfg.Users, cfg.PageLatency)
	if err := warmUp(ctx, p, send); err != nil {
		return r, fmt.Errorf("%w; the bot's log ends:\n%s", err, logTail(bot.logPath))
	}
	r.ACSWarmup = p.fake.ACSListCalls()
	if r.Start, err = bot.footprint(ctx); err != nil {
		return r, err
	}

	logf("sending %d deliveries at %.0f/s for %s", n, cfg.Rate, cfg.Duration)
	f := fire(ctx, send, pl.deliveries, cfg.Rate, cfg.Conns)
	f.tally(&r, pl.deliveries)

	logf("waiting up to %s for %d replies", cfg.ReplyWait, r.Unique)
	_, _, last := waitReplies(ctx, p.replies, pl.messageIDs, cfg.ReplyWait)
	if last.After(f.lastSent) {
		r.ReplyDrain = last.Sub(f.lastSent)
	}
	r.ACSLoad = p.fake.ACSListCalls() - r.ACSWarmup
	// Measured once the work is done: a backlog still being answered is load.
	if r.End, err = bot.footprint(ctx); err != nil {
		return r, err
	}

	closeIdle()
	logf("settling for %s", cfg.Settle)
	select {
	case <-time.After(cfg.Settle):
	case <-ctx.Done():
		return r, ctx.Err()
	}
	if r.Settled, err = bot.footprint(ctx); err != nil {
		return r, err
	}
	// Counted after settling, so a late second reply to a command is caught too.
	r.Replies, r.DupAnswered, _ = p.replies.count(pl.messageIDs)
	if r.Deduped, r.Refused, err = botCounts(ctx, bot.url); err != nil {
		return r, err
	}
	stopped = true
	return r, bot.stop()
}

// sender is how the load reaches the bot at url, through conns senders, and what
// closes the webhook's idle keep-alive connections once it is done; the long
// connection is the bot's, and stays open.
func (p *platform) sender(url string, conns int) (send sendFunc, closeIdle func()) {
	if p.delivery == config.DeliveryWebhook {
		client := newClient(conns)
		return post(client, url), client.CloseIdleConnections
	}
	return push(p.fake), func() {}
}

// warmUp asks the bot one question as an admin and waits for the answer, so the
// cold directory scan (ceil(users/50) pages) is done before the load is timed. Over
// the long connection it also waits for the bot to connect.
func warmUp(ctx context.Context, p *platform, send sendFunc) error {
	ctx, cancel := context.WithTimeout(ctx, warmupTimeout)
	defer cancel()
	id := fmt.Sprintf("om_%032x", uint64(1)<<62)
	ev := p.fake.MessageEvent(feishufake.UserMessage{
		MessageID: id, ChatType: "p2p", ChatID: "oc_warmup000000000000000000000001", SenderOpenID: p.pop.admins[0], Text: "/stats",
	})
	d, err := p.prepare(ctx, delivery{kind: firstDelivery, env: ev})
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if status := send(ctx, d); status != 200 {
		return fmt.Errorf("warm-up: the bot answered %d (0: not at all)", status)
	}
	if got, _, _ := waitReplies(ctx, p.replies, []string{id}, warmupTimeout); got != 1 {
		return errors.New("warm-up: no reply to /stats")
	}
	return nil
}

// waitReplies polls until every message in ids has a reply, or wait passes.
func waitReplies(ctx context.Context, c *replyCounter, ids []string, wait time.Duration) (answered, doubled int, last time.Time) {
	deadline := time.Now().Add(wait)
	for {
		answered, doubled, last = c.count(ids)
		if answered == len(ids) || time.Now().After(deadline) || ctx.Err() != nil {
			return answered, doubled, last
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// botCounts reads from the bot's metrics how many deliveries it deduped and how
// many commands it refused.
func botCounts(ctx context.Context, url string) (deduped, refused int, err error) {
	text, err := scrape(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	d, _ := metricSum(text, "acsbot_events_deduped_total")
	f, _ := metricSum(text, "acsbot_commands_total", `outcome="refused"`)
	return int(d), int(f), nil
}
