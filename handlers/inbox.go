package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"acsbot/store"
)

// maxAttempts bounds how often one job is tried before it is given up as failed, so a
// poisonous event cannot loop for ever across restarts.
const maxAttempts = 5

// accept records a job and queues it. The record comes first: once Feishu has its 200,
// the job survives a crash and is resumed at the next start.
func (s *Server) accept(ctx context.Context, j job) {
	if j.ChatType == "p2p" && j.ChatID != "" {
		s.p2pChats.SetDefault(j.ChatID, true)
	}
	payload, err := json.Marshal(j)
	if err != nil { // a job is plain strings; this cannot fail, but never lose it silently
		s.log.Error("encode job", "key", j.Key, "err", err)
		return
	}
	if !s.firstSeen(ctx, j.Key, j.Kind, payload) {
		return
	}
	s.enqueue(j)
}

// enqueue hands a job to the workers without blocking the webhook. A full queue leaves
// the job pending in the store and signals the backlog feeder to queue it as soon as
// a worker is free.
func (s *Server) enqueue(j job) bool {
	if !s.claim(j.Key) {
		return false
	}
	select {
	case s.queue <- j:
		return true
	default:
		s.release(j.Key)
		select {
		case s.backlog <- struct{}{}:
		default: // already signalled
		}
		return false
	}
}

// claim marks a job as queued or running, and reports false if it already was.
func (s *Server) claim(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[key] {
		return false
	}
	s.inflight[key] = true
	return true
}

func (s *Server) release(key string) {
	s.mu.Lock()
	delete(s.inflight, key)
	s.mu.Unlock()
}

func (s *Server) work() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case j := <-s.queue:
			s.process(j)
			s.release(j.Key)
		}
	}
}

// process answers one job and records the outcome. A job whose answer could not be
// sent for a passing reason stays pending and is tried again by housekeeping.
func (s *Server) process(j job) {
	timeout := s.jobTimeout
	if j.Kind == jobRemind {
		timeout = remindTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	attempts, err := s.store.StartAttempt(ctx, j.Key)
	switch {
	case errors.Is(err, store.ErrNotPending):
		return // finished while this copy waited in the queue: answered already
	case err != nil:
		s.storeFailed("start attempt", err)
	}
	if attempts > maxAttempts {
		s.log.Error("giving up on event", "key", j.Key, "attempts", attempts)
		s.metrics.EventsGivenUp.Inc()
		if err := s.store.MarkFailed(ctx, j.Key, "too many attempts", s.now()); err != nil {
			s.storeFailed("mark event failed", err)
		}
		return
	}
	if err := s.do(ctx, j); err != nil {
		s.log.Warn("job failed; will retry", "key", j.Key, "kind", j.Kind, "attempt", attempts, "err", err)
		return
	}
	s.markDone(j.Key)
	s.metrics.ReplyLatency.Observe(s.now().Sub(j.ReceivedAt).Seconds())
}

// defaultJobTimeout bounds one answer: a cold scan of a large directory plus the reply.
const defaultJobTimeout = 2 * time.Minute

// do runs one job of any kind. An error leaves the job pending, to be tried again.
func (s *Server) do(ctx context.Context, j job) error {
	switch j.Kind {
	case jobBotRemoved:
		return s.botRemoved(ctx, j)
	case jobRemind:
		return s.remind(ctx, j)
	case jobWelcome:
		return s.welcome(ctx, j)
	case jobMenu:
		return s.menu(ctx, j)
	default:
		return s.answer(ctx, j)
	}
}

// knownJob reports whether a recorded kind is work for the workers; the inbox also
// records events handled at once, such as ACS user updates.
func knownJob(kind string) bool {
	switch kind {
	case jobMessage, jobBotRemoved, jobRemind, jobWelcome, jobMenu:
		return true
	}
	return false
}

// housekeepEvery is how often pending jobs are re-queued and old records pruned.
const housekeepEvery = 30 * time.Second

func (s *Server) housekeep() {
	defer s.wg.Done()
	t := time.NewTicker(housekeepEvery)
	defer t.Stop()
	for {
		s.resumePending()
		s.prune()
		s.expireMemory()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// resumePending queues every recorded job not done yet: those left by a crash, a
// full queue, or an answer that failed for a passing reason.
func (s *Server) resumePending() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, j := range s.pendingJobs(ctx, false) {
		if !s.enqueue(j) && len(s.queue) == cap(s.queue) {
			return // queue full: feedBacklog takes the untried rest, the next round the others
		}
	}
}

// feedBacklog queues the jobs a full queue left in the store, each as soon as a
// worker takes the one before, so a burst above the workers' pace is answered at
// their pace rather than a queueful per housekeeping round.
func (s *Server) feedBacklog() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.backlog:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// A job tried before failed for a passing reason: housekeeping retries it
		// at its own pace, not at the pace of the backlog.
		jobs := s.pendingJobs(ctx, true)
		cancel()
		for _, j := range jobs {
			if !s.claim(j.Key) {
				continue
			}
			select {
			case s.queue <- j:
			case <-s.stop:
				s.release(j.Key)
				return
			}
		}
	}
}

// pendingJobs reads the recorded jobs not done yet, oldest first; with untried, only
// those no worker has started.
func (s *Server) pendingJobs(ctx context.Context, untried bool) []job {
	pending, err := s.store.Pending(ctx)
	if err != nil {
		s.storeFailed("list pending events", err)
		return nil
	}
	var jobs []job
	for _, e := range pending {
		if !knownJob(e.Kind) || (untried && e.Attempts > 0) {
			continue
		}
		var j job
		if err := json.Unmarshal(e.Payload, &j); err != nil {
			s.log.Error("drop unreadable pending event", "key", e.Key, "err", err)
			_ = s.store.MarkFailed(ctx, e.Key, "unreadable payload", s.now())
			continue
		}
		j.Kind = e.Kind
		s.seen.SetDefault(j.Key, true)
		jobs = append(jobs, j)
	}
	return jobs
}

// expireMemory drops expired entries from the in-memory caches; reads already
// ignore them, this only frees their memory.
func (s *Server) expireMemory() {
	s.seen.DeleteExpired()
	s.p2pChats.DeleteExpired()
	s.welcomed.DeleteExpired()
}

func (s *Server) prune() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.store.Prune(ctx, s.now().Add(-dedupeRetention)); err != nil {
		s.storeFailed("prune events", err)
	}
}
