package feishu

import (
	"context"
	"time"
)

// SetSleep replaces how c waits between attempts, so tests see the waits without
// taking them.
func SetSleep(c *Client, f func(ctx context.Context, d time.Duration) error) { c.sleep = f }

// SetMessageRetry replaces the retry budget of c's message and chat calls.
func SetMessageRetry(c *Client, p RetryPolicy) { c.msgRetry = p }
