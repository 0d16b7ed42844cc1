package feishu_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"acsbot/feishu"
)

// recorder is a Client sleep that records the waits instead of taking them.
type recorder struct{ waits []time.Duration }

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.waits = append(r.waits, d)
	return ctx.Err()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func offlineClient(t *testing.T) (*feishu.Client, *recorder) {
	t.Helper()
	c := feishu.NewClient(feishu.ClientConfig{AppID: "cli_offline", AppSecret: "secret-" + t.Name(),
		BaseURL: "http://127.0.0.1:1", Timeout: time.Second, Logger: quietLogger()})
	r := &recorder{}
	feishu.SetSleep(c, r.sleep)
	return c, r
}

func ferr(class feishu.Class, retryAfter time.Duration) error {
	return &feishu.Error{Op: "op", Class: class, Code: 1, RetryAfter: retryAfter}
}

func TestDo(t *testing.T) {
	policy := feishu.RetryPolicy{Attempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second}
	tests := []struct {
		name      string
		policy    feishu.RetryPolicy
		errs      []error // what the call returns, in turn; nil past the end
		wantErr   feishu.Class
		wantOK    bool
		wantCalls int
		// each wait must lie in [min, max]
		waits [][2]time.Duration
	}{
		{name: "first try", policy: policy, wantOK: true, wantCalls: 1},
		{name: "retryable twice, backoff grows", policy: policy,
			errs: []error{ferr(feishu.Retryable, 0), ferr(feishu.Retryable, 0)}, wantOK: true, wantCalls: 3,
			waits: [][2]time.Duration{{50 * time.Millisecond, 100 * time.Millisecond}, {100 * time.Millisecond, 200 * time.Millisecond}}},
		{name: "rate limited waits the reset", policy: policy,
			errs: []error{ferr(feishu.RateLimited, time.Second)}, wantOK: true, wantCalls: 2,
			waits: [][2]time.Duration{{time.Second, time.Second}}},
		{name: "rate limit reset capped at MaxDelay", policy: policy,
			errs: []error{ferr(feishu.RateLimited, time.Minute)}, wantOK: true, wantCalls: 2,
			waits: [][2]time.Duration{{2 * time.Second, 2 * time.Second}}},
		{name: "rate limited without reset backs off", policy: policy,
			errs: []error{ferr(feishu.RateLimited, 0)}, wantOK: true, wantCalls: 2,
			waits: [][2]time.Duration{{50 * time.Millisecond, 100 * time.Millisecond}}},
		{name: "backoff capped at MaxDelay",
			policy: feishu.RetryPolicy{Attempts: 6, BaseDelay: time.Second, MaxDelay: 2 * time.Second},
			errs:   []error{ferr(feishu.Retryable, 0), ferr(feishu.Retryable, 0), ferr(feishu.Retryable, 0)}, wantOK: true, wantCalls: 4,
			waits: [][2]time.Duration{{500 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second}, {time.Second, 2 * time.Second}}},
		{name: "permanent returns at once", policy: policy,
			errs: []error{ferr(feishu.Permanent, 0)}, wantErr: feishu.Permanent, wantCalls: 1},
		{name: "invalid page token returns at once", policy: policy,
			errs: []error{ferr(feishu.InvalidPageToken, 0)}, wantErr: feishu.InvalidPageToken, wantCalls: 1},
		{name: "attempts run out", policy: feishu.RetryPolicy{Attempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
			errs:    []error{ferr(feishu.Retryable, 0), ferr(feishu.Retryable, 0), ferr(feishu.Retryable, 0)},
			wantErr: feishu.Retryable, wantCalls: 2, waits: [][2]time.Duration{{0, time.Millisecond}}},
		{name: "zero policy tries once", errs: []error{ferr(feishu.Retryable, 0)}, wantErr: feishu.Retryable, wantCalls: 1},
		{name: "token invalid retried once outside the budget", policy: feishu.RetryPolicy{Attempts: 1},
			errs: []error{ferr(feishu.TokenInvalid, 0)}, wantOK: true, wantCalls: 2},
		{name: "token invalid twice gives up", policy: policy,
			errs: []error{ferr(feishu.TokenInvalid, 0), ferr(feishu.TokenInvalid, 0)}, wantErr: feishu.TokenInvalid, wantCalls: 2},
		{name: "unclassified error is permanent", policy: policy,
			errs: []error{errors.New("boom")}, wantErr: feishu.Permanent, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := offlineClient(t)
			calls := 0
			err := c.Do(context.Background(), "op", tt.policy, func(context.Context) error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			switch {
			case tt.wantOK && err != nil:
				t.Fatalf("Do = %v, want success", err)
			case !tt.wantOK && feishu.ClassOf(err) != tt.wantErr:
				t.Fatalf("Do = %v (class %v), want class %v", err, feishu.ClassOf(err), tt.wantErr)
			}
			if len(rec.waits) != len(tt.waits) {
				t.Fatalf("waits = %v, want %d of them", rec.waits, len(tt.waits))
			}
			for i, w := range rec.waits {
				if w < tt.waits[i][0] || w > tt.waits[i][1] {
					t.Errorf("wait %d = %v, want within %v", i, w, tt.waits[i])
				}
			}
		})
	}
}

func TestDoContext(t *testing.T) {
	tests := []struct {
		name  string
		end   func(cancel context.CancelFunc) // ends the context during the first call
		ctx   func() (context.Context, context.CancelFunc)
		want  error
		class feishu.Class
	}{
		{name: "cancelled", ctx: func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			end: func(cancel context.CancelFunc) { cancel() }, want: context.Canceled, class: feishu.Permanent},
		{name: "deadline", ctx: func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}, end: func(context.CancelFunc) {}, want: context.DeadlineExceeded, class: feishu.Retryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := offlineClient(t)
			ctx, cancel := tt.ctx()
			defer cancel()
			calls := 0
			err := c.Do(ctx, "op", feishu.RetryPolicy{Attempts: 5}, func(context.Context) error {
				calls++
				tt.end(cancel)
				return ferr(feishu.Retryable, 0)
			})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Do = %v, want errors.Is %v", err, tt.want)
			}
			if calls != 1 {
				t.Errorf("calls = %d, want 1: a finished context is not retried", calls)
			}
			if feishu.ClassOf(err) != tt.class {
				t.Errorf("class = %v, want %v", feishu.ClassOf(err), tt.class)
			}
		})
	}
}
