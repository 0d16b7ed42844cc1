package feishu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
)

// Class is the verdict on a failed Feishu call: what the caller should do about it.
type Class int

// The classes, from "give up" to "start over".
const (
	// Permanent: retrying the same request will fail the same way (bad request,
	// missing scope, unknown id, cancelled).
	Permanent Class = iota
	// Retryable: a server error, a transport failure or a timeout.
	Retryable
	// RateLimited: over a Feishu rate limit; wait RetryAfter, then retry.
	RateLimited
	// TokenInvalid: the access token was refused; drop the cached token, retry once.
	TokenInvalid
	// InvalidPageToken: an ACS page token is no longer valid; restart the scan.
	InvalidPageToken
	// QuotaExhausted: the tenant's monthly API call quota is used up (99991403,
	// HTTP 429). Every counted call fails until the 1st or an edition upgrade, so
	// retrying only spends time; it is not a rate limit.
	QuotaExhausted
)

// String is the class as a metric label and log value.
func (c Class) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case Retryable:
		return "retryable"
	case RateLimited:
		return "rate_limited"
	case TokenInvalid:
		return "token_invalid"
	case InvalidPageToken:
		return "invalid_page_token"
	case QuotaExhausted:
		return "quota_exhausted"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Feishu codes with a verdict of their own (feishu-platform.md §6.2, §7).
const (
	codeRateLimited        = 99991400
	codeQuotaExhausted     = 99991403
	codePageTokenInvalid   = 1490018
	headerRateLimitReset   = "x-ogw-ratelimit-reset"
	codeIMTooFrequent      = 230020 // IM: the chat or user gets messages too fast
	codeIMRateLimitedA     = 11232
	codeIMRateLimitedB     = 11233
	codeIMRateLimitedC     = 11247
	codeTenantTokenInvalid = 99991663
	codeAppTokenInvalid    = 99991664
	codeTokenBadFormat     = 99991671
	codeTokenExpired       = 99991677
)

func classOfCode(code int) (Class, bool) {
	switch code {
	case codeRateLimited, codeIMTooFrequent, codeIMRateLimitedA, codeIMRateLimitedB, codeIMRateLimitedC:
		return RateLimited, true
	case codeTenantTokenInvalid, codeAppTokenInvalid, codeTokenBadFormat, codeTokenExpired:
		return TokenInvalid, true
	case codePageTokenInvalid:
		return InvalidPageToken, true
	case codeQuotaExhausted:
		return QuotaExhausted, true
	}
	return Permanent, false
}

func classOfStatus(status int) Class {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status >= 500:
		return Retryable
	}
	return Permanent
}

// Error is a failed Feishu call with its verdict. It never holds a secret: only the
// code, message and log id Feishu sent, and the transport error.
type Error struct {
	Op         string        // what we were doing, e.g. "list acs users page 3"
	Class      Class         // what to do about it
	Code       int           // Feishu code; 0 for transport and bare HTTP errors
	Msg        string        // Feishu msg
	HTTPStatus int           // 0 when no response came back
	LogID      string        // X-Tt-Logid, for Feishu support
	RetryAfter time.Duration // from x-ogw-ratelimit-reset; 0 when absent
	Err        error         // the underlying error, if any
}

// Error reads like "list acs users page 3: feishu code 1490018: page token is invalid (log id 2024…)".
func (e *Error) Error() string { return e.Op + ": " + e.detail() }

// detail is the error without its Op.
func (e *Error) detail() string {
	var b strings.Builder
	switch {
	case e.Code != 0:
		fmt.Fprintf(&b, "feishu code %d: %s", e.Code, e.Msg)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, "feishu http %d", e.HTTPStatus)
	default:
		b.WriteString("feishu call failed")
	}
	if e.LogID != "" {
		fmt.Fprintf(&b, " (log id %s)", e.LogID)
	}
	return b.String()
}

// Unwrap gives the transport or context error behind e, if any.
func (e *Error) Unwrap() error { return e.Err }

// Classify turns the outcome of an SDK call into nil (success) or an *Error with a
// verdict. Pass the response's embedded ApiResp and CodeError (zero values when the
// call returned an error), or the error alone.
func Classify(op string, resp *larkcore.ApiResp, code larkcore.CodeError, err error) error {
	if err != nil {
		return classifyErr(op, err)
	}
	status := 0
	var header http.Header
	if resp != nil {
		status, header = resp.StatusCode, resp.Header
	}
	if code.Code == 0 && status < 400 {
		return nil
	}
	e := &Error{Op: op, Code: code.Code, Msg: code.Msg, HTTPStatus: status}
	if c, ok := classOfCode(code.Code); ok {
		e.Class = c
	} else {
		e.Class = classOfStatus(status)
	}
	if code.Err != nil {
		e.LogID = code.Err.LogID
	}
	if e.LogID == "" && resp != nil {
		e.LogID = resp.RequestId()
	}
	e.RetryAfter = retryAfter(header)
	return e
}

func classifyErr(op string, err error) error {
	var fe *Error
	if errors.As(err, &fe) {
		return err
	}
	e := &Error{Op: op, Class: Permanent, Err: err}
	var (
		se   *statusError
		ce   larkcore.CodeError
		cep  *larkcore.CodeError
		ue   *url.Error
		cto  *larkcore.ClientTimeoutError
		sto  *larkcore.ServerTimeoutError
		dial *larkcore.DialFailedError
	)
	switch {
	case errors.Is(err, context.Canceled):
		e.Class = Permanent
	case errors.Is(err, context.DeadlineExceeded):
		e.Class = Retryable
	case errors.As(err, &se):
		e.Class, e.HTTPStatus = classOfStatus(se.status), se.status
		e.LogID = se.header.Get(larkcore.HttpHeaderKeyLogId)
		e.RetryAfter = retryAfter(se.header)
	case errors.As(err, &ce), errors.As(err, &cep):
		// The SDK returns the token endpoint's refusal as a bare CodeError.
		if cep != nil {
			ce = *cep
		}
		e.Code, e.Msg, e.Err = ce.Code, ce.Msg, nil
		if c, ok := classOfCode(ce.Code); ok {
			e.Class = c
		}
		if ce.Err != nil {
			e.LogID = ce.Err.LogID
		}
	case errors.As(err, &cto), errors.As(err, &sto), errors.As(err, &dial), errors.As(err, &ue):
		e.Class = Retryable
	}
	return e
}

// retryAfter reads x-ogw-ratelimit-reset (seconds until the window resets).
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get(headerRateLimitReset))
	if v == "" {
		return 0
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || secs <= 0 || math.IsNaN(secs) || math.IsInf(secs, 0) {
		return 0
	}
	// A day is already absurd; the cap keeps the conversion from overflowing.
	return time.Duration(min(secs, 86400) * float64(time.Second))
}

// ClassOf is the class of err: its *Error's class, Permanent for any other error.
func ClassOf(err error) Class {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Class
	}
	return Permanent
}
