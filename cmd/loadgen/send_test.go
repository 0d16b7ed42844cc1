package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// fire sends every delivery once, and tally counts acks, errors and kinds.
func TestFireAndTally(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		if r.URL.Path == cardPath || r.Header.Get("X-Test") != "ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	h := http.Header{"X-Test": {"ok"}}
	ds := []delivery{
		{kind: firstDelivery, path: eventPath, header: h},
		{kind: redelivery, path: eventPath, header: h},
		{kind: callback, path: cardPath, header: h},
		{kind: firstDelivery, path: eventPath, header: h},
		{kind: firstDelivery, path: eventPath, header: http.Header{}},
	}
	client := newClient(2)
	f := fire(context.Background(), client, srv.URL, ds, 1000, 2)
	client.CloseIdleConnections()
	if got.Load() != int64(len(ds)) || f.sent != len(ds) {
		t.Fatalf("server got %d requests, generator sent %d; want %d", got.Load(), f.sent, len(ds))
	}
	r := Result{Rate: 1000}
	f.tally(&r, ds)
	if r.Sent != 5 || r.Acks != 3 || r.Errors != 2 || r.Redeliveries != 1 || r.Callbacks != 1 {
		t.Errorf("sent %d acks %d errors %d re-deliveries %d callbacks %d; want 5 3 2 1 1",
			r.Sent, r.Acks, r.Errors, r.Redeliveries, r.Callbacks)
	}
	if r.Achieved <= 0 || r.AcksPerSec <= 0 || r.P50 <= 0 || r.Max < r.P99 || r.P99 < r.P50 {
		t.Errorf("rates %v %v, latencies %v %v %v: want positive and ordered", r.Achieved, r.AcksPerSec, r.P50, r.P99, r.Max)
	}
}

// A bot that does not answer is counted as errors, not acks.
func TestFireCountsNoAnswerAsError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there now
	ds := []delivery{{kind: firstDelivery, path: eventPath, header: http.Header{}}}
	f := fire(context.Background(), newClient(1), base, ds, 10, 1)
	r := Result{Rate: 10}
	f.tally(&r, ds)
	if r.Errors != 1 || r.Acks != 0 || f.outcomes[0].at.IsZero() {
		t.Errorf("errors %d acks %d: want 1 0", r.Errors, r.Acks)
	}
}

// A cancelled run stops sending and counts only what it sent.
func TestFireStopsWhenCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ds := make([]delivery, 10)
	f := fire(ctx, newClient(1), srv.URL, ds, 1, 1)
	r := Result{Rate: 1}
	f.tally(&r, ds)
	if f.sent != 0 || r.Sent != 0 {
		t.Errorf("sent %d after cancel, want 0", f.sent)
	}
}
