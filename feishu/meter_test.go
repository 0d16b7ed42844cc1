package feishu_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"acsbot/feishu"
	"acsbot/feishufake"
	"acsbot/metrics"
	"acsbot/usage"
)

// TestMeterCountsWhatFeishuCounts: the client reports exactly the calls the fake
// counts, kind by kind, failed ones left out; 99991403 is its own class, never
// retried, judged app-wide, and marks the month's quota used up.
func TestMeterCountsWhatFeishuCounts(t *testing.T) {
	secret := "sec-" + t.Name()
	fake := feishufake.New(feishufake.Options{AppID: "cli_test", AppSecret: secret, VerificationToken: "vt"})
	t.Cleanup(fake.Close)
	fake.SetChat("oc_facility", "Facility team")
	logs := &syncBuffer{}
	m := metrics.New()
	meter := usage.New(usage.Options{Metrics: m, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	c := feishu.NewClient(feishu.ClientConfig{AppID: "cli_test", AppSecret: secret, BaseURL: fake.URL(),
		Timeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, nil)), Metrics: m, Meter: meter})
	rec := &recorder{}
	feishu.SetSleep(c, rec.sleep)
	ctx := context.Background()

	if _, err := c.BotOpenID(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if name, err := c.ChatName(ctx, "oc_facility"); err != nil || name != "Facility team" {
			t.Fatalf("chat name %q, %v", name, err)
		}
	}
	if _, err := c.ChatName(ctx, "oc_nowhere"); err == nil {
		t.Fatal("unknown chat named")
	}
	id, err := c.Send(ctx, "chat_id", "oc_facility", card, "u1")
	if err != nil {
		t.Fatal(err)
	}
	fake.InjectMessageFault(feishufake.MessageFault{Code: 230020, Times: 1}) // rate limited once, then taken
	if err := c.Patch(ctx, id, card); err != nil {
		t.Fatal(err)
	}
	got, want := meter.Month(), fake.Usage()
	for _, k := range []usage.Kind{usage.Reply, usage.Send, usage.CardUpdate, usage.Lookup} {
		if got.Totals[k] != want.Counted[string(k)] {
			t.Errorf("%s: meter %d, fake %d", k, got.Totals[k], want.Counted[string(k)])
		}
	}
	// Bot info and one chat name (the second is kept), the send and the patch.
	if got.Counted() != 4 || got.Counted() != want.CountedTotal() || got.Totals[usage.Lookup] != 2 {
		t.Fatalf("meter %+v, fake %+v", got.Totals, want.Counted)
	}

	fake.SetMonthlyQuota(want.CountedTotal())
	waits := len(rec.waits)
	_, err = c.Send(ctx, "chat_id", "oc_facility", card, "u2")
	if feishu.ClassOf(err) != feishu.QuotaExhausted {
		t.Fatalf("past the quota: %v (class %s)", err, feishu.ClassOf(err))
	}
	if v := feishu.VerdictOf(err); v.Retry || !v.AppWide || v.Code != 99991403 {
		t.Fatalf("verdict %+v", v)
	}
	if len(rec.waits) != waits {
		t.Fatalf("retried: waits %v", rec.waits[waits:])
	}
	_, _ = c.Send(ctx, "chat_id", "oc_facility", card, "u3")
	if !meter.Month().Exhausted {
		t.Fatal("meter does not know the quota is used up")
	}
	if n := strings.Count(logs.String(), "quota is used up"); n != 1 {
		t.Fatalf("logged %d times within the hour, want 1:\n%s", n, logs)
	}
}
