package bot

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The pacer spaces calls every apart from the first, sleeping only the time left.
func TestPacer(t *testing.T) {
	cases := []struct {
		name string
		// gaps is the time that passes on its own before each call.
		gaps []time.Duration
		// want is the sleep each call takes.
		want []time.Duration
	}{
		{"back to back", []time.Duration{0, 0, 0, 0}, []time.Duration{0, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}},
		{"slow caller never sleeps", []time.Duration{0, 150 * time.Millisecond, 100 * time.Millisecond}, []time.Duration{0, 0, 0}},
		{"part of the gap passed", []time.Duration{0, 30 * time.Millisecond, 60 * time.Millisecond}, []time.Duration{0, 70 * time.Millisecond, 40 * time.Millisecond}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			var slept []time.Duration
			p := pacer{
				every: 100 * time.Millisecond,
				now:   func() time.Time { return now },
				sleep: func(_ context.Context, d time.Duration) error {
					slept = append(slept, d)
					now = now.Add(d)
					return nil
				},
			}
			for i, gap := range c.gaps {
				now = now.Add(gap)
				before := len(slept)
				if err := p.wait(context.Background()); err != nil {
					t.Fatal(err)
				}
				var got time.Duration
				if len(slept) > before {
					got = slept[before]
				}
				if got != c.want[i] {
					t.Fatalf("call %d slept %v, want %v", i+1, got, c.want[i])
				}
			}
		})
	}
}

func TestPacerStopsWithContext(t *testing.T) {
	stopped := errors.New("stopped")
	p := pacer{
		every: time.Second,
		now:   func() time.Time { return time.Unix(0, 0) },
		sleep: func(context.Context, time.Duration) error { return stopped },
	}
	if err := p.wait(context.Background()); err != nil {
		t.Fatalf("first call: %v", err)
	}
	if err := p.wait(context.Background()); !errors.Is(err, stopped) {
		t.Fatalf("second call: %v, want the sleep's error", err)
	}
}
