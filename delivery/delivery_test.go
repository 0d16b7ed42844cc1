package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"acsbot/delivery"
	"acsbot/feishu"
	"acsbot/feishufake"
)

var secretSeq atomic.Int64

// stage is the real delivery stage with the real Feishu client, against the fake.
func stage(t *testing.T) (*delivery.Stage, *feishufake.Server) {
	t.Helper()
	// The SDK's token cache is process-wide: a secret of its own keeps this fake apart.
	secret := fmt.Sprintf("secret-%s-%d", t.Name(), secretSeq.Add(1))
	fake := feishufake.New(feishufake.Options{AppID: "cli_delivery", AppSecret: secret})
	t.Cleanup(fake.Close)
	fc := feishu.NewClient(feishu.ClientConfig{AppID: "cli_delivery", AppSecret: secret, BaseURL: fake.URL(), Timeout: 5 * time.Second})
	return delivery.New(fc, nil), fake
}

// claim records how the stage ended it.
type claim struct {
	done   int
	failed []string
}

func (c *claim) Done(context.Context) error { c.done++; return nil }

func (c *claim) Fail(_ context.Context, reason string) error {
	c.failed = append(c.failed, reason)
	return nil
}

type card string

func (c card) JSON() ([]byte, error) { return []byte(c), nil }

const okCard = card(`{"schema":"2.0","config":{"update_multi":true},"body":{"elements":[{"tag":"markdown","content":"hi"}]}}`)

func TestDeliverEndsTheClaimByTheVerdict(t *testing.T) {
	const to = "ou_person0000000000000000000000001"
	cases := []struct {
		name                string
		fault               *feishufake.MessageFault
		card                delivery.Card
		wantErr, wantRetry  bool
		wantAppWide         bool
		wantDone, wantFails int
	}{
		{name: "sent", card: okCard, wantDone: 1},
		{name: "refused for this person", fault: &feishufake.MessageFault{Code: 230013}, card: okCard,
			wantErr: true, wantFails: 1},
		{name: "refused for everyone", fault: &feishufake.MessageFault{Code: 99991672}, card: okCard,
			wantErr: true, wantAppWide: true, wantFails: 1},
		{name: "server error is passing", fault: &feishufake.MessageFault{HTTPStatus: 500, Code: 1490001}, card: okCard,
			wantErr: true, wantRetry: true},
		{name: "rate limited is passing", fault: &feishufake.MessageFault{HTTPStatus: 429, Code: 99991400}, card: okCard,
			wantErr: true, wantRetry: true},
		{name: "a card Feishu refuses to parse", card: card(`{"schema":"2.0"`), wantErr: true, wantFails: 1},
		{name: "rate limited for a moment is waited out", fault: &feishufake.MessageFault{Code: 230020, Times: 3}, card: okCard, wantDone: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, fake := stage(t)
			if c.fault != nil {
				fake.InjectMessageFault(*c.fault)
			}
			cl := &claim{}
			id, err := st.Deliver(context.Background(), cl, delivery.Message{What: "reminder", IDType: "open_id", To: to, UUID: "u-1", Card: c.card})
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			var f *delivery.Failed
			if err != nil && !errors.As(err, &f) {
				t.Fatalf("err %T is not a *delivery.Failed", err)
			}
			v := delivery.VerdictOf(err)
			if delivery.Retry(err) != c.wantRetry || v.AppWide != c.wantAppWide {
				t.Fatalf("verdict %+v: retry %v, want %v; app-wide want %v", v, delivery.Retry(err), c.wantRetry, c.wantAppWide)
			}
			if cl.done != c.wantDone || len(cl.failed) != c.wantFails {
				t.Fatalf("claim done %d, failed %q; want %d and %d", cl.done, cl.failed, c.wantDone, c.wantFails)
			}
			if c.wantDone == 1 && (id == "" || len(fake.Messages()) != 1) {
				t.Fatalf("sent: id %q, %d messages at Feishu", id, len(fake.Messages()))
			}
			if c.wantFails == 1 && cl.failed[0] == "" {
				t.Fatal("failed without a reason")
			}
		})
	}
}

// A reply, a new message and an update each reach Feishu as their own call, and a
// reply's uuid makes a resend show once.
func TestDeliverRepliesSendsAndUpdates(t *testing.T) {
	st, fake := stage(t)
	ctx := context.Background()
	first, err := st.Deliver(ctx, nil, delivery.Message{What: "summary", IDType: "chat_id", To: "oc_chat000000000000000000000000001", UUID: "ds-1", Card: okCard})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	for range 2 {
		if _, err := st.Deliver(ctx, nil, delivery.Message{What: "reply", ReplyTo: first, UUID: "r-1", Card: okCard}); err != nil {
			t.Fatalf("reply: %v", err)
		}
	}
	if _, err := st.Deliver(ctx, nil, delivery.Message{What: "progress", Update: first, Card: okCard}); err != nil {
		t.Fatalf("update: %v", err)
	}
	kinds := map[string]int{}
	for _, m := range fake.Messages() {
		kinds[m.Kind]++
	}
	if kinds["create"] != 1 || kinds["reply"] != 1 {
		t.Fatalf("messages by kind %v, want one create and one reply (the resend deduped by uuid)", kinds)
	}
	if got := fake.Calls(); !calledPatch(got, first) {
		t.Fatalf("no PATCH of %s among %d calls", first, len(got))
	}
}

func calledPatch(calls []feishufake.Call, messageID string) bool {
	for _, c := range calls {
		if c.Method == "PATCH" && c.Path == "/open-apis/im/v1/messages/"+messageID {
			return true
		}
	}
	return false
}

func TestBackoffAndLimit(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute}
	for i, w := range want {
		if got := delivery.Backoff(i + 1); got != w {
			t.Fatalf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if delivery.Exhausted(delivery.MaxAttempts-1) || !delivery.Exhausted(delivery.MaxAttempts) {
		t.Fatalf("Exhausted must turn at MaxAttempts (%d)", delivery.MaxAttempts)
	}
}

// Thirty replies to one chat at once, as thirty people asking together: the stage
// paces them under Feishu's 5 a second per chat, so each goes out once, and none is
// refused as rate limited or lost.
func TestDeliverPacesABurstToOneChat(t *testing.T) {
	st, fake := stage(t)
	const chat, n = "oc_busy00000000000000000000000000001", 30
	errs := make(chan error, n)
	start := time.Now()
	for i := range n {
		go func() {
			_, err := st.Deliver(context.Background(), nil, delivery.Message{What: "reply", IDType: "chat_id", To: chat,
				UUID: fmt.Sprintf("burst-%d", i), Card: okCard})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("deliver: %v", err)
		}
	}
	if got := len(fake.Messages()); got != n {
		t.Fatalf("%d messages at Feishu, want %d", got, n)
	}
	for _, c := range fake.Calls() {
		if c.Code == 230020 {
			t.Fatalf("a send was refused as rate limited: the stage did not pace the chat")
		}
	}
	if elapsed := time.Since(start); elapsed < (n/5-1)*time.Second {
		t.Fatalf("%d messages in %v: faster than 5 a second", n, elapsed)
	}
}
