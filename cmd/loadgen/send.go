package main

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"acsbot/feishufake"
)

// outcome is what became of one delivery.
type outcome struct {
	status  int           // 200: acked; 0: no usable answer
	latency time.Duration // from when it was due to be sent to its answer
	at      time.Time     // when the answer came
}

// fired is what the generator saw of a whole load.
type fired struct {
	start    time.Time
	lastSent time.Time // when the last delivery was handed to a sender
	sent     int       // deliveries handed to a sender: all, unless ctx ended first
	outcomes []outcome // by delivery index
}

// newClient is a keep-alive client with up to conns connections to the bot, as
// Feishu's delivery fleet holds several.
func newClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = conns
	t.MaxConnsPerHost = conns
	return &http.Client{Transport: t, Timeout: 10 * time.Second}
}

// sendFunc delivers d to the bot and returns the status of its answer: 200 is an
// ack; anything else, 0 for no usable answer, is an error.
type sendFunc func(ctx context.Context, d delivery) int

// fire sends the deliveries open-loop at rate per second through conns senders: a
// delivery is due at start + i/rate whatever became of the earlier ones, and its
// latency is counted from when it was due, so a bot (or generator) that falls behind
// shows as latency rather than as a slower, politer load.
func fire(ctx context.Context, send sendFunc, ds []delivery, rate float64, conns int) fired {
	f := fired{start: time.Now(), outcomes: make([]outcome, len(ds))}
	due := func(i int) time.Time { return f.start.Add(time.Duration(float64(i) / rate * float64(time.Second))) }
	work := make(chan int, conns)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				status := send(ctx, ds[i])
				at := time.Now()
				f.outcomes[i] = outcome{status: status, latency: at.Sub(due(i)), at: at}
			}
		}()
	}
	for i := range ds {
		if wait := time.Until(due(i)); wait > 0 {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			break
		}
		work <- i
		f.sent++
	}
	f.lastSent = time.Now()
	close(work)
	wg.Wait()
	return f
}

// maxAnswer bounds what is read of an answer: an ack is a few bytes, a callback's
// card a few KB.
const maxAnswer = 1 << 20

// post sends deliveries to the bot's webhook at base through client.
func post(client *http.Client, base string) sendFunc {
	return func(ctx context.Context, d delivery) int {
		req, err := d.request(ctx, base)
		if err != nil {
			return 0
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		// Reading the whole answer lets the connection be reused.
		if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)); err != nil {
			return 0
		}
		return resp.StatusCode
	}
}

// push sends deliveries over the fake's long connection: a frame per event, waiting
// for its ack (PushEvent pushes the event again if none comes within
// Options.WSRepushAfter, as Feishu does, so a late ack counts from the first push),
// and a frame per click, whose answer Feishu waits 3 s for. A re-delivery is the
// same event pushed again. An event never acked with 200 is an error.
func push(fake *feishufake.Server) sendFunc {
	return func(ctx context.Context, d delivery) int {
		if d.kind == callback {
			res, err := fake.ClickWS(ctx, d.click)
			if err != nil {
				return 0
			}
			return res.Status
		}
		ack, err := fake.PushEvent(ctx, d.env)
		if err != nil {
			return 0
		}
		return ack.Code
	}
}

// tally fills the send and ack figures of r from what the generator saw.
func (f fired) tally(r *Result, ds []delivery) {
	var latencies []time.Duration
	var lastAck time.Time
	for i, o := range f.outcomes[:f.sent] {
		r.Sent++
		switch ds[i].kind {
		case redelivery:
			r.Redeliveries++
		case callback:
			r.Callbacks++
		}
		if o.status != http.StatusOK {
			r.Errors++
			continue
		}
		r.Acks++
		latencies = append(latencies, o.latency)
		if o.at.After(lastAck) {
			lastAck = o.at
		}
	}
	// n deliveries at the requested rate span n intervals, the last one's included.
	if span := f.lastSent.Sub(f.start).Seconds() + 1/r.Rate; r.Sent > 0 {
		r.Achieved = float64(r.Sent) / span
	}
	if r.Acks > 0 {
		r.AcksPerSec = float64(r.Acks) / (lastAck.Sub(f.start).Seconds() + 1/r.Rate)
	}
	r.summarize(latencies)
}
