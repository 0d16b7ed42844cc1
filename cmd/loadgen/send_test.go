package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"acsbot/feishufake"
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
	f := fire(context.Background(), post(client, srv.URL), ds, 1000, 2)
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
	f := fire(context.Background(), post(newClient(1), base), ds, 10, 1)
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
	f := fire(ctx, post(newClient(1), srv.URL), ds, 1, 1)
	r := Result{Rate: 1}
	f.tally(&r, ds)
	if f.sent != 0 || r.Sent != 0 {
		t.Errorf("sent %d after cancel, want 0", f.sent)
	}
}

// Over the long connection, an event no client acks is an error once the fake has
// pushed it again as Feishu would, and so is a click the run gave up on.
func TestPushCountsNoAckAsError(t *testing.T) {
	fake := feishufake.NewHandler(feishufake.Options{AppID: appID, AppSecret: randomSecret(), WSRepushAfter: 10 * time.Millisecond})
	defer fake.Close()
	send := push(fake)
	ev := fake.MessageEvent(feishufake.UserMessage{ChatType: "p2p", ChatID: "oc_1", SenderOpenID: "ou_1", Text: "/stats"})
	start := time.Now()
	if status := send(context.Background(), delivery{kind: firstDelivery, env: ev}); status != 0 {
		t.Errorf("an unacked event got status %d, want 0", status)
	}
	if took := time.Since(start); took < 40*time.Millisecond { // 5 pushes of 10 ms each
		t.Errorf("gave up after %v, before the 4 re-pushes", took)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if status := send(ctx, delivery{kind: callback, click: feishufake.CardAction{MessageID: "om_1", ChatID: "oc_1", OperatorOpenID: "ou_1"}}); status != 0 {
		t.Errorf("an unanswered click got status %d, want 0", status)
	}
}
