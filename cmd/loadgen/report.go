package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Footprint is the bot process's size at one moment.
type Footprint struct {
	RSSKB      int64 // VmRSS from /proc/PID/status
	Goroutines int   // go_goroutines from the bot's /metrics
}

// Result is what one load run measured.
type Result struct {
	Rate     float64       // requested deliveries per second
	Duration time.Duration // requested length of the load

	Sent         int     // deliveries sent, re-deliveries and callbacks included
	Redeliveries int     // deliveries that repeat an earlier message event
	Callbacks    int     // page-button card callbacks
	Unique       int     // distinct chat messages (commands) sent
	Achieved     float64 // deliveries per second the generator actually sent

	Acks       int     // deliveries answered 200
	Errors     int     // deliveries answered otherwise, or not at all
	AcksPerSec float64 // acks over the time from the first send to the last ack
	P50, P99   time.Duration
	Max        time.Duration

	Replies     int // distinct commands that got at least one reply
	DupAnswered int // commands whose reply the bot sent more than once
	// ReplyDrain is how long after the last send the last reply arrived.
	ReplyDrain time.Duration
	Deduped    int // re-deliveries the bot counted as such (acsbot_events_deduped_total)
	Refused    int // commands the bot refused (acsbot_commands_total{outcome="refused"})

	ACSWarmup, ACSLoad int // ACS list calls during the warm-up and during the load

	// Start is before the load; End once it stopped and every reply was sent (or
	// the wait for them ran out), keep-alive connections still open; Settled after
	// those closed and the bot idled.
	Start, End, Settled Footprint
}

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// summarize sets the latency figures from the latencies of the acked deliveries.
func (r *Result) summarize(latencies []time.Duration) {
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	r.P50 = percentile(sorted, 50)
	r.P99 = percentile(sorted, 99)
	if len(sorted) > 0 {
		r.Max = sorted[len(sorted)-1]
	}
}

// Check reports what makes the run wrong: a command left unanswered or answered
// more than once. Slowness is not wrong; see Sustained.
func (r Result) Check() error {
	var errs []error
	if r.Replies != r.Unique {
		errs = append(errs, fmt.Errorf("%d of %d commands got a reply", r.Replies, r.Unique))
	}
	if r.DupAnswered > 0 {
		errs = append(errs, fmt.Errorf("%d commands were answered more than once", r.DupAnswered))
	}
	return errors.Join(errs...)
}

// The bars a rate must clear to count as sustained.
const (
	minKeptUp     = 0.95                   // achieved and acked rate, as a share of the requested one
	maxP99        = 100 * time.Millisecond // ack latency
	maxReplyDrain = 5 * time.Second        // from the last send to the last reply
)

// Sustained reports whether the bot kept up with the rate, and if not, why.
func (r Result) Sustained() (bool, string) {
	var why []string
	if r.Errors > 0 {
		why = append(why, fmt.Sprintf("%d deliveries not acked", r.Errors))
	}
	if r.Achieved < minKeptUp*r.Rate {
		why = append(why, fmt.Sprintf("generator sent %.0f/s", r.Achieved))
	}
	if r.AcksPerSec < minKeptUp*r.Rate {
		why = append(why, fmt.Sprintf("acks %.0f/s", r.AcksPerSec))
	}
	if r.P99 > maxP99 {
		why = append(why, "p99 "+ms(r.P99))
	}
	if r.ReplyDrain > maxReplyDrain {
		why = append(why, "replies lagged "+r.ReplyDrain.Round(100*time.Millisecond).String())
	}
	if err := r.Check(); err != nil {
		why = append(why, err.Error())
	}
	return len(why) == 0, strings.Join(why, "; ")
}

// goroutineSlack is how many goroutines above the start count still count as back
// down: the runtime and the HTTP server keep a few for a while.
const goroutineSlack = 5

// Leaks describes what did not come back down after the load, "" if all did. RSS
// may stay above its start (Go returns freed memory to the OS slowly) but must not
// grow once the work is done.
func (r Result) Leaks() string {
	var out []string
	if r.Settled.Goroutines > r.Start.Goroutines+goroutineSlack {
		out = append(out, fmt.Sprintf("goroutines %d at start, %d after settling", r.Start.Goroutines, r.Settled.Goroutines))
	}
	if r.Settled.RSSKB > r.End.RSSKB+r.End.RSSKB/20 {
		out = append(out, fmt.Sprintf("RSS grew while idle: %s → %s", mb(r.End.RSSKB), mb(r.Settled.RSSKB)))
	}
	return strings.Join(out, "; ")
}

// Header is the markdown table header for Row.
func Header() string {
	return "| rate/s | duration | sent (re-deliveries, callbacks) | sent/s | acks/s | errors | ack p50 | ack p99 | ack max | replies / unique commands | duplicates answered | last reply after load | ACS list calls (warm-up + load) | RSS MB start / after / settled | goroutines start / after / settled | sustained |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
}

// Row is the run as one markdown table row.
func (r Result) Row() string {
	ok, why := r.Sustained()
	verdict := "yes"
	if !ok {
		verdict = "no: " + why
	}
	return fmt.Sprintf("| %.0f | %s | %d (%d, %d) | %.0f | %.0f | %d | %s | %s | %s | %d / %d | %d | %s | %d + %d | %s / %s / %s | %d / %d / %d | %s |",
		r.Rate, r.Duration, r.Sent, r.Redeliveries, r.Callbacks, r.Achieved, r.AcksPerSec, r.Errors,
		ms(r.P50), ms(r.P99), ms(r.Max), r.Replies, r.Unique, r.DupAnswered,
		r.ReplyDrain.Round(10*time.Millisecond), r.ACSWarmup, r.ACSLoad,
		mb(r.Start.RSSKB), mb(r.End.RSSKB), mb(r.Settled.RSSKB),
		r.Start.Goroutines, r.End.Goroutines, r.Settled.Goroutines, verdict)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mb(kb int64) string { return fmt.Sprintf("%.1f", float64(kb)/1024) }
