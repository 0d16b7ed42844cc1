package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"acsbot/config"
)

// buildBot builds the real bot binary, as scripts/load.sh does.
func buildBot(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "acsbot")
	out, err := exec.Command("go", "build", "-o", bin, "acsbot/cmd/bot").CombinedOutput()
	if err != nil {
		t.Fatalf("build the bot: %v\n%s", err, out)
	}
	return bin
}

// A short load through the real binary, by webhook and over the long connection:
// every command gets exactly one reply, every re-delivery is acked and deduped,
// nothing is refused, and the warm directory is never scanned again.
func TestLoadAgainstTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bot binary")
	}
	bin := buildBot(t)
	for _, delivery := range []string{config.DeliveryWebhook, config.DeliveryWebSocket} {
		t.Run(delivery, func(t *testing.T) {
			t.Parallel() // two bots on two cores: each run takes a few seconds, not both
			cfg := Config{
				Bot: bin, Rate: 100, Duration: 3 * time.Second,
				Users: 300, PageLatency: 5 * time.Millisecond, DupShare: 0.05, Conns: 8,
				ReplyWait: 60 * time.Second, Settle: 200 * time.Millisecond, Seed: 1, Delivery: delivery,
			}
			var log bytes.Buffer
			r, err := Run(context.Background(), cfg, func(f string, a ...any) { log.WriteString(strings.TrimSpace(f) + "\n") })
			if err != nil {
				t.Fatalf("run: %v\nlog:\n%s", err, log.String())
			}
			t.Log(r.Row())
			if r.Sent != 300 || r.Acks != r.Sent || r.Errors != 0 {
				t.Errorf("sent %d, acked %d, errors %d; want 300 all acked", r.Sent, r.Acks, r.Errors)
			}
			if r.Unique+r.Redeliveries+r.Callbacks != r.Sent || r.Unique < 250 {
				t.Errorf("unique %d + re-deliveries %d + callbacks %d != sent %d", r.Unique, r.Redeliveries, r.Callbacks, r.Sent)
			}
			// About 5% of 300: Binomial bounds that hold for any seed but a freak one.
			if r.Redeliveries < 4 || r.Redeliveries > 30 {
				t.Errorf("%d re-deliveries of 300, want about 15", r.Redeliveries)
			}
			if err := r.Check(); err != nil {
				t.Errorf("check: %v", err)
			}
			if r.Replies != r.Unique || r.DupAnswered != 0 {
				t.Errorf("replies %d for %d commands, %d answered twice", r.Replies, r.Unique, r.DupAnswered)
			}
			if r.Deduped != r.Redeliveries {
				t.Errorf("the bot deduped %d deliveries, %d were re-deliveries", r.Deduped, r.Redeliveries)
			}
			if r.Refused != 0 {
				t.Errorf("the bot refused %d commands; the load's senders are all readers", r.Refused)
			}
			if r.ACSWarmup != 6 || r.ACSLoad != 0 {
				t.Errorf("ACS list calls: %d warm-up (want ceil(300/50) = 6), %d during the load (want 0)", r.ACSWarmup, r.ACSLoad)
			}
			for name, fp := range map[string]Footprint{"start": r.Start, "end": r.End, "settled": r.Settled} {
				if fp.RSSKB <= 0 || fp.Goroutines <= 0 {
					t.Errorf("%s footprint %+v: want RSS and goroutines read from the bot", name, fp)
				}
			}
		})
	}
}
