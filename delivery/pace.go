package delivery

import (
	"context"
	"sync"
	"time"

	"acsbot/clock"
)

// pacer gives each target (a chat, a person, a message) one turn every so often,
// across all the goroutines that send to it.
type pacer struct {
	every time.Duration

	mu   sync.Mutex
	next map[string]time.Time // target -> its next free turn
}

func newPacer(every time.Duration) *pacer {
	return &pacer{every: every, next: map[string]time.Time{}}
}

// forgetAfter is how many targets the pacer remembers before it drops those whose
// turn is past: they would get one at once anyway.
const forgetAfter = 1000

// wait takes the first turn free for every target and sleeps until it comes, or
// until ctx ends. A turn taken and not used is lost, which only slows the target.
func (p *pacer) wait(ctx context.Context, targets []string) error {
	if len(targets) == 0 {
		return ctx.Err()
	}
	now := time.Now()
	p.mu.Lock()
	at := now
	for _, t := range targets {
		if n := p.next[t]; n.After(at) {
			at = n
		}
	}
	for _, t := range targets {
		p.next[t] = at.Add(p.every)
	}
	if len(p.next) > forgetAfter {
		for t, n := range p.next {
			if n.Before(now) {
				delete(p.next, t)
			}
		}
	}
	p.mu.Unlock()
	return clock.Sleep(ctx, at.Sub(now))
}
