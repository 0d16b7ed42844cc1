package acs

import (
	"context"
	"errors"
	"fmt"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"

	"acsbot/feishu"
)

const (
	// pageSize is the ACS user list maximum.
	pageSize = 50
	// defaultMaxPages stops a scan of a server that never says has_more=false with fresh
	// tokens: a million users is far beyond any company's access control.
	defaultMaxPages = 20000
)

// scan walks the user list from the first page to the last, restarting from the
// first page when Feishu says a page token is no longer valid (1490018), at most
// MaxRestarts times.
func (d *Directory) scan(ctx context.Context) ([]User, error) {
	for restarts := 0; ; restarts++ {
		users, err := d.walk(ctx)
		if err == nil {
			return users, nil
		}
		if feishu.ClassOf(err) != feishu.InvalidPageToken {
			return nil, err
		}
		if restarts >= d.o.MaxRestarts {
			return nil, fmt.Errorf("scan acs users: page token rejected %d times, giving up: %w", restarts+1, err)
		}
		d.o.Logger.WarnContext(ctx, "acs page token rejected, restarting the scan from the first page",
			"restart", restarts+1, "max_restarts", d.o.MaxRestarts, "err", err)
	}
}

// walk reads every page once, in order: page tokens are opaque and each one comes
// from the page before.
func (d *Directory) walk(ctx context.Context) ([]User, error) {
	var users []User
	seen := make(map[string]struct{})
	token := ""
	for page := 1; ; page++ {
		if page > d.maxPages {
			return nil, fmt.Errorf("scan acs users: more than %d pages, the server seems to loop", d.maxPages)
		}
		items, next, more, err := d.page(ctx, page, token)
		if err != nil {
			return nil, err
		}
		users = append(users, items...)
		if !more {
			return users, nil
		}
		if next == "" {
			return nil, fmt.Errorf("scan acs users page %d: has_more without a page_token", page)
		}
		if _, dup := seen[next]; dup {
			return nil, fmt.Errorf("scan acs users page %d: page token repeated, the server loops", page)
		}
		seen[next] = struct{}{}
		token = next
	}
}

// page fetches one page through feishu.Client.Do, which retries rate limits,
// server and transport errors, and refreshes a refused token.
func (d *Directory) page(ctx context.Context, n int, token string) (users []User, next string, more bool, err error) {
	op := fmt.Sprintf("list acs users page %d", n)
	err = d.c.Do(ctx, op, d.o.Retry, func(ctx context.Context) error {
		users, next, more, err = d.fetch(ctx, op, token)
		d.o.Metrics.ACSCalls.WithLabelValues(callResult(err)).Inc()
		return err
	})
	return users, next, more, err
}

func (d *Directory) fetch(ctx context.Context, op, token string) ([]User, string, bool, error) {
	if d.o.PageTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.o.PageTimeout)
		defer cancel()
	}
	b := larkacs.NewListUserReqBuilder().PageSize(pageSize).UserIdType(d.o.UserIDType)
	if token != "" {
		b.PageToken(token)
	}
	resp, err := d.c.Lark().Acs.V1.User.List(ctx, b.Build())
	if err != nil {
		return nil, "", false, feishu.Classify(op, nil, larkcore.CodeError{}, err)
	}
	if err := feishu.Classify(op, resp.ApiResp, resp.CodeError, nil); err != nil {
		return nil, "", false, err
	}
	if resp.Data == nil {
		return nil, "", false, &feishu.Error{Op: op, Class: feishu.Permanent, HTTPStatus: resp.StatusCode,
			LogID: resp.RequestId(), Err: errors.New("feishu answered code 0 without data")}
	}
	users := make([]User, 0, len(resp.Data.Items))
	for _, it := range resp.Data.Items {
		if it == nil || it.UserId == nil || *it.UserId == "" {
			continue // nothing to show or look up without an id
		}
		users = append(users, userOf(it))
	}
	more := larkcore.BoolValue(resp.Data.HasMore)
	return users, larkcore.StringValue(resp.Data.PageToken), more, nil
}

// callResult is the ACSCalls label of one list call's outcome.
func callResult(err error) string {
	if err == nil {
		return "ok"
	}
	var fe *feishu.Error
	if !errors.As(err, &fe) {
		return "error"
	}
	switch fe.Class {
	case feishu.RateLimited:
		return "rate_limited"
	case feishu.InvalidPageToken:
		return "invalid_page_token"
	case feishu.Retryable:
		if fe.HTTPStatus != 0 {
			return "server_error"
		}
		return "transport_error"
	}
	return "error"
}
