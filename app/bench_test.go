package app_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"acsbot/feishufake"
)

// BenchmarkWebhookAck measures how long Feishu waits for its 200 while the ACS API is
// slow (200 ms a page): the webhook must not wait for the directory.
func BenchmarkWebhookAck(b *testing.B) {
	h := newHarness(b, harnessOpts{Users: feishufake.GenerateUsers(2000, 5)})
	h.Fake.SetPageLatency(200 * time.Millisecond)
	// Fast pages again before the bot stops, so the cold read behind the acks ends.
	defer h.Fake.SetPageLatency(0)
	// Each command in a chat of its own: replies to one chat are paced at Feishu's 5
	// a second, and a queue of paced replies is not what this measures.
	evs := make([]feishufake.Envelope, b.N)
	for i := range evs {
		chat := fmt.Sprintf("oc_bench%026d", i)
		evs[i] = h.Fake.MessageEvent(feishufake.UserMessage{ChatID: chat, ChatType: "p2p", SenderOpenID: adminID, Text: "/noface"})
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		status, _ := h.Deliver(evs[i])
		lat = append(lat, time.Since(start))
		if status != 200 {
			b.Fatalf("status %d", status)
		}
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkWarmNoFace measures a warm "/noface" end to end at 10,000 users: event in,
// reply recorded by the fake Feishu. Each question comes from a direct chat of its
// own: one chat's replies are paced at Feishu's 5 a second, so back-to-back questions
// in one chat would measure the pace, not the bot.
func BenchmarkWarmNoFace(b *testing.B) {
	h := newHarness(b, harnessOpts{Users: feishufake.GenerateUsers(10000, 5)})
	defer h.Stop()
	warm := h.Say("p2p", "oc_p2p_admin0000000000000000000001", adminID, "/stats")
	h.ReplyTo(messageID(b, warm))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		ev := h.Say("p2p", fmt.Sprintf("oc_warm%027d", i), adminID, "/noface")
		h.ReplyTo(messageID(b, ev))
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
