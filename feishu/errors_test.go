package feishu_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"

	"acsbot/feishu"
)

func apiResp(status int, hdr ...string) *larkcore.ApiResp {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return &larkcore.ApiResp{StatusCode: status, Header: h}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		resp       *larkcore.ApiResp
		code       larkcore.CodeError
		err        error
		wantNil    bool
		class      feishu.Class
		wantCode   int
		status     int
		retryAfter time.Duration
		logID      string
	}{
		{name: "success", resp: apiResp(200), wantNil: true},
		{name: "429 with reset header", resp: apiResp(429, "x-ogw-ratelimit-reset", "3", "X-Tt-Logid", "L429"),
			code:  larkcore.CodeError{Code: 99991400, Msg: "request trigger frequency limit"},
			class: feishu.RateLimited, wantCode: 99991400, status: 429, retryAfter: 3 * time.Second, logID: "L429"},
		{name: "99991400 on an old API's 400", resp: apiResp(400), code: larkcore.CodeError{Code: 99991400},
			class: feishu.RateLimited, wantCode: 99991400, status: 400},
		{name: "bare 429", resp: apiResp(429), class: feishu.RateLimited, status: 429},
		{name: "IM 230020", resp: apiResp(400), code: larkcore.CodeError{Code: 230020}, class: feishu.RateLimited, wantCode: 230020, status: 400},
		{name: "IM 11232", resp: apiResp(400), code: larkcore.CodeError{Code: 11232}, class: feishu.RateLimited, wantCode: 11232, status: 400},
		{name: "IM 11233", resp: apiResp(400), code: larkcore.CodeError{Code: 11233}, class: feishu.RateLimited, wantCode: 11233, status: 400},
		{name: "IM 11247", resp: apiResp(400), code: larkcore.CodeError{Code: 11247}, class: feishu.RateLimited, wantCode: 11247, status: 400},
		{name: "tenant token invalid", resp: apiResp(400), code: larkcore.CodeError{Code: 99991663}, class: feishu.TokenInvalid, wantCode: 99991663, status: 400},
		{name: "app token invalid", resp: apiResp(400), code: larkcore.CodeError{Code: 99991664}, class: feishu.TokenInvalid, wantCode: 99991664, status: 400},
		{name: "token bad format", resp: apiResp(400), code: larkcore.CodeError{Code: 99991671}, class: feishu.TokenInvalid, wantCode: 99991671, status: 400},
		{name: "token expired", resp: apiResp(400), code: larkcore.CodeError{Code: 99991677}, class: feishu.TokenInvalid, wantCode: 99991677, status: 400},
		{name: "page token invalid", resp: apiResp(400), code: larkcore.CodeError{Code: 1490018, Msg: "page token is invalid"},
			class: feishu.InvalidPageToken, wantCode: 1490018, status: 400},
		{name: "ACS system error 500", resp: apiResp(500), code: larkcore.CodeError{Code: 1490001}, class: feishu.Retryable, wantCode: 1490001, status: 500},
		{name: "503 code 0", resp: apiResp(503), class: feishu.Retryable, status: 503},
		{name: "scope missing", resp: apiResp(400), code: larkcore.CodeError{Code: 99991672}, class: feishu.Permanent, wantCode: 99991672, status: 400},
		{name: "bot not in chat", resp: apiResp(400), code: larkcore.CodeError{Code: 230002}, class: feishu.Permanent, wantCode: 230002, status: 400},
		{name: "garbage reset header", resp: apiResp(429, "x-ogw-ratelimit-reset", "soon"), code: larkcore.CodeError{Code: 99991400},
			class: feishu.RateLimited, wantCode: 99991400, status: 429},
		{name: "client timeout", err: &larkcore.ClientTimeoutError{}, class: feishu.Retryable},
		{name: "server timeout (504)", err: &larkcore.ServerTimeoutError{}, class: feishu.Retryable},
		{name: "dial failed", err: &larkcore.DialFailedError{}, class: feishu.Retryable},
		{name: "connection reset", err: &url.Error{Op: "Get", URL: "http://127.0.0.1/x", Err: errors.New("connection reset by peer")}, class: feishu.Retryable},
		{name: "cancelled", err: fmt.Errorf("send: %w", context.Canceled), class: feishu.Permanent},
		{name: "deadline", err: context.DeadlineExceeded, class: feishu.Retryable},
		{name: "token endpoint refusal", err: larkcore.CodeError{Code: 99991663, Msg: "invalid"}, class: feishu.TokenInvalid, wantCode: 99991663},
		{name: "wrong app secret", err: larkcore.CodeError{Code: 10014, Msg: "app secret invalid"}, class: feishu.Permanent, wantCode: 10014},
		{name: "decode error", err: errors.New("response content-type not json"), class: feishu.Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := feishu.Classify("op", tt.resp, tt.code, tt.err)
			if tt.wantNil {
				if err != nil {
					t.Fatalf("Classify = %v, want nil", err)
				}
				return
			}
			var fe *feishu.Error
			if !errors.As(err, &fe) {
				t.Fatalf("Classify = %T %v, want *feishu.Error", err, err)
			}
			if fe.Class != tt.class || feishu.ClassOf(err) != tt.class {
				t.Errorf("class = %v (ClassOf %v), want %v", fe.Class, feishu.ClassOf(err), tt.class)
			}
			if fe.Code != tt.wantCode || fe.HTTPStatus != tt.status || fe.RetryAfter != tt.retryAfter {
				t.Errorf("code/status/retryAfter = %d/%d/%v, want %d/%d/%v", fe.Code, fe.HTTPStatus, fe.RetryAfter, tt.wantCode, tt.status, tt.retryAfter)
			}
			if tt.logID != "" && fe.LogID != tt.logID {
				t.Errorf("log id = %q, want %q", fe.LogID, tt.logID)
			}
			if fe.Op != "op" {
				t.Errorf("op = %q", fe.Op)
			}
			for _, target := range []error{context.Canceled, context.DeadlineExceeded} {
				if errors.Is(tt.err, target) && !errors.Is(err, target) {
					t.Errorf("errors.Is(%v) lost", target)
				}
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *feishu.Error
		want string
	}{
		{"code and log id", &feishu.Error{Op: "list acs users page 3", Code: 1490018, Msg: "page token is invalid", LogID: "2024abc"},
			"list acs users page 3: feishu code 1490018: page token is invalid (log id 2024abc)"},
		{"bare status", &feishu.Error{Op: "patch message om_1", HTTPStatus: 502}, "patch message om_1: feishu http 502"},
		{"transport", &feishu.Error{Op: "get chat oc_1", Err: errors.New("dial tcp: refused")}, "get chat oc_1: dial tcp: refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClassOfOtherErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want feishu.Class
	}{
		{"plain", errors.New("x"), feishu.Permanent},
		{"wrapped rate limit", fmt.Errorf("outer: %w", &feishu.Error{Class: feishu.RateLimited}), feishu.RateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := feishu.ClassOf(tt.err); got != tt.want {
				t.Errorf("ClassOf = %v, want %v", got, tt.want)
			}
		})
	}
}
