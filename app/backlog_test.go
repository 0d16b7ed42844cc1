package app_test

import (
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"acsbot/feishufake"
)

// A burst of commands larger than the worker queue, arriving while a cold scan holds
// every worker, is answered once each as soon as the scan ends: the jobs the full
// queue left in the store do not wait for housekeeping's next round, 30 s on.
func TestBurstBeyondTheQueueIsAnsweredPromptly(t *testing.T) {
	h := newHarness(t, harnessOpts{Users: feishufake.GenerateUsers(1000, 5)})
	h.Fake.SetPageLatency(100 * time.Millisecond) // 20 pages: a 2 s cold scan
	const n = 400                                 // the queue holds 256 jobs, the workers 64
	ids := make([]string, 0, n)
	// An admin asks in 80 groups: Feishu takes 5 messages a second into one chat,
	// which would pace one chat's 400 answers over 90 s (TestBurstInOneGroupAllAnswered).
	for i := range n {
		ids = append(ids, messageID(t, h.Say("group", fmt.Sprintf("oc_burst%027d", i%80), adminID, "/stats")))
	}
	h.Eventually("a reply to every command of the burst", func() bool {
		for _, id := range ids {
			if h.RepliesTo(id) == 0 {
				return false
			}
		}
		return true
	})
	// The fake folds replies with one uuid into one message; the bot's count of
	// reply calls shows whether any command was answered twice.
	replyCalls := func() float64 {
		var m dto.Metric
		if err := h.App().Metrics().MessagesSent.WithLabelValues("reply", "ok").Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	h.Eventually("the last reply counted", func() bool { return replyCalls() >= n })
	if got := replyCalls(); got != n {
		t.Errorf("%v reply calls for %d commands", got, n)
	}
}
