package feishu

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds the retries of one call: Attempts in all (at least one), with
// exponential backoff from BaseDelay, capped at MaxDelay, with jitter.
type RetryPolicy struct {
	Attempts  int
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// backoff is the wait before attempt n+1 after n failed ones: "equal jitter", half
// fixed and half random, so concurrent callers spread out but never retry at once.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// rateLimitWait is how long to wait after a rate-limit answer: what Feishu asked
// for, capped at MaxDelay; the ordinary backoff when it did not say.
func (p RetryPolicy) rateLimitWait(e *Error, n int) time.Duration {
	if e.RetryAfter <= 0 {
		return p.backoff(n)
	}
	if p.MaxDelay > 0 && e.RetryAfter > p.MaxDelay {
		return p.MaxDelay
	}
	return e.RetryAfter
}

// Do runs call until it succeeds, fails for good, runs out of attempts, or ctx ends.
// call should return Classify's verdict; any other error counts as Permanent (a
// transport or context error is recognised by type). On TokenInvalid the app's cached
// tokens are evicted and the call is run once more, outside the attempt budget:
// the SDK's own retry resends the stale token. QuotaExhausted is never retried: the
// meter is told, and logs it. The error returned is an *Error; when
// ctx ended it also matches ctx.Err() with errors.Is.
func (c *Client) Do(ctx context.Context, op string, p RetryPolicy, call func(ctx context.Context) error) error {
	attempts := max(p.Attempts, 1)
	tokenRetried := false
	for n := 1; ; n++ {
		err := call(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctxError(op, ctx, err)
		}
		err = classifyErr(op, err)
		var fe *Error
		errors.As(err, &fe) // classifyErr always gives an *Error
		var wait time.Duration
		switch fe.Class {
		case TokenInvalid:
			if tokenRetried {
				return err
			}
			tokenRetried = true
			evicted := c.evictTokens()
			c.log.WarnContext(ctx, "feishu token refused, evicted cached tokens",
				"op", op, "code", fe.Code, "evicted", evicted, "log_id", fe.LogID)
			n-- // the retry with a fresh token is not one of the policy's attempts
			continue
		case InvalidPageToken, Permanent:
			return err
		case QuotaExhausted:
			c.meter.QuotaExhausted()
			return err
		case RateLimited:
			wait = p.rateLimitWait(fe, n)
		case Retryable:
			wait = p.backoff(n)
		}
		if n >= attempts {
			return err
		}
		c.log.DebugContext(ctx, "feishu call failed, retrying",
			"op", op, "class", fe.Class.String(), "attempt", n, "wait", wait, "err", err)
		if serr := c.sleep(ctx, wait); serr != nil {
			return ctxError(op, ctx, err)
		}
	}
}

// ctxError reports a call cut short by ctx. It matches the ctx error with errors.Is
// and names the last failure, which is what an operator wants to see.
func ctxError(op string, ctx context.Context, last error) error {
	cause := context.Cause(ctx)
	class := Permanent
	if errors.Is(cause, context.DeadlineExceeded) {
		class = Retryable
	}
	lastText := last.Error()
	var fe *Error
	if errors.As(last, &fe) {
		lastText = fe.detail()
	}
	return &Error{Op: op, Class: class, Err: fmt.Errorf("%w; last failure: %s", cause, lastText)}
}
