package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value is every percentile", []time.Duration{7}, 99, 7},
		{"median of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"nearest rank rounds up", []time.Duration{1, 2, 3}, 50, 2},
		{"tiny p is the min", hundred, 0.001, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeSortsACopy(t *testing.T) {
	lat := []time.Duration{5, 1, 9, 3, 7}
	var r Result
	r.summarize(lat)
	if r.P50 != 5 || r.P99 != 9 || r.Max != 9 {
		t.Errorf("p50 %v p99 %v max %v, want 5 9 9", r.P50, r.P99, r.Max)
	}
	if lat[0] != 5 || lat[1] != 1 {
		t.Errorf("summarize reordered its input: %v", lat)
	}
}

// good is a run that answered everything once and kept up with 100/s.
func good() Result {
	return Result{
		Rate: 100, Duration: 10 * time.Second, Sent: 1000, Unique: 900, Replies: 900,
		Achieved: 100, Acks: 1000, AcksPerSec: 99.5, P50: time.Millisecond, P99: 20 * time.Millisecond,
		ReplyDrain: 30 * time.Millisecond,
		Start:      Footprint{RSSKB: 20000, Goroutines: 20},
		End:        Footprint{RSSKB: 30000, Goroutines: 80},
		Settled:    Footprint{RSSKB: 29000, Goroutines: 22},
	}
}

func TestVerdicts(t *testing.T) {
	tests := []struct {
		name      string
		change    func(*Result)
		wrong     string // part of Check's error; "" = correct
		notKept   string // part of Sustained's reason; "" = sustained
		leaksWant string // part of Leaks; "" = none
	}{
		{"good run", func(*Result) {}, "", "", ""},
		{"a command unanswered", func(r *Result) { r.Replies = 899 }, "899 of 900", "899 of 900", ""},
		{"a command answered twice", func(r *Result) { r.DupAnswered = 1 }, "1 commands were answered more than once", "more than once", ""},
		{"errors", func(r *Result) { r.Errors = 3 }, "", "3 deliveries not acked", ""},
		{"generator fell behind", func(r *Result) { r.Achieved = 90 }, "", "generator sent 90/s", ""},
		{"acks fell behind", func(r *Result) { r.AcksPerSec = 80 }, "", "acks 80/s", ""},
		{"slow acks", func(r *Result) { r.P99 = 101 * time.Millisecond }, "", "p99 101.00 ms", ""},
		{"replies lag", func(r *Result) { r.ReplyDrain = 6 * time.Second }, "", "replies lagged 6s", ""},
		{"goroutines stay up", func(r *Result) { r.Settled.Goroutines = 26 }, "", "", "goroutines 20 at start, 26 after settling"},
		{"goroutines within slack", func(r *Result) { r.Settled.Goroutines = 25 }, "", "", ""},
		{"RSS grows after the load", func(r *Result) { r.Settled.RSSKB = 32000 }, "", "", "RSS grew while idle: 29.3 → 31.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.change(&r)
			err := r.Check()
			switch {
			case tt.wrong == "" && err != nil:
				t.Errorf("Check() = %v, want nil", err)
			case tt.wrong != "" && (err == nil || !strings.Contains(err.Error(), tt.wrong)):
				t.Errorf("Check() = %v, want %q", err, tt.wrong)
			}
			ok, why := r.Sustained()
			if ok != (tt.notKept == "") || !strings.Contains(why, tt.notKept) {
				t.Errorf("Sustained() = %v %q, want reason %q", ok, why, tt.notKept)
			}
			if got := r.Leaks(); (got == "") != (tt.leaksWant == "") || !strings.Contains(got, tt.leaksWant) {
				t.Errorf("Leaks() = %q, want %q", got, tt.leaksWant)
			}
		})
	}
}

func TestRowMatchesHeader(t *testing.T) {
	cells := func(line string) []string {
		return strings.Split(strings.Trim(line, "|"), "|")
	}
	header := strings.Split(Header(), "\n")
	if len(header) != 2 {
		t.Fatalf("header has %d lines, want 2", len(header))
	}
	r := good()
	r.Redeliveries, r.Callbacks, r.ACSWarmup = 50, 45, 200
	row := r.Row()
	if got, want := len(cells(row)), len(cells(header[0])); got != want {
		t.Fatalf("row has %d cells, header %d:\n%s\n%s", got, want, header[0], row)
	}
	if got, want := len(cells(header[1])), len(cells(header[0])); got != want {
		t.Errorf("separator has %d cells, header %d", got, want)
	}
	for _, want := range []string{"| 100 |", "| 1000 (50, 45) |", "| 900 / 900 |", "| 200 + 0 |", "| 19.5 / 29.3 / 28.3 |", "| 20 / 80 / 22 |", "| yes |", "| 1.00 ms |", "| 20.00 ms |"} {
		if !strings.Contains(row, want) {
			t.Errorf("row lacks %q:\n%s", want, row)
		}
	}
	r.P99 = time.Second
	if row := r.Row(); !strings.Contains(row, "| no: p99 1000.00 ms |") {
		t.Errorf("a run not sustained says why in its row:\n%s", row)
	}
}
