package feishufake

import "slices"

// faults is one queue of injected faults of any API: tried in the order injected,
// each failing the calls it matches, for its number of times or for ever. The
// caller holds Server.mu.
type faults[F any] struct {
	queue []*fault[F]
}

type fault[F any] struct {
	f    F
	left int // calls still to fail; -1 = for ever
}

// add queues f for times calls; times <= 0 means every matching call.
func (q *faults[F]) add(f F, times int) {
	if times <= 0 {
		times = -1
	}
	q.queue = append(q.queue, &fault[F]{f: f, left: times})
}

// take returns the first fault that matches a call, using one of its times.
func (q *faults[F]) take(matches func(F) bool) (F, bool) {
	for i, ft := range q.queue {
		if !matches(ft.f) {
			continue
		}
		if ft.left > 0 {
			ft.left--
			if ft.left == 0 {
				q.queue = slices.Delete(q.queue, i, i+1)
			}
		}
		return ft.f, true
	}
	var zero F
	return zero, false
}

func (q *faults[F]) clear() { q.queue = nil }
