package acs

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"acsbot/feishu"
)

// brokenServer answers the token call and then every list call with page(n), n
// counting from 1: the server misbehaviours a scan must stop on.
func brokenServer(t *testing.T, page func(n int) string) string {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if strings.HasSuffix(r.URL.Path, "/tenant_access_token/internal") {
			_, _ = io.WriteString(w, `{"code":0,"msg":"ok","tenant_access_token":"t-broken","expire":7200}`)
			return
		}
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		_, _ = io.WriteString(w, page(n))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestScanStopsOnBrokenServers(t *testing.T) {
	item := `{"user_id":"ou_%d","feature":{"card":%d,"face_uploaded":true}}`
	tests := []struct {
		name string
		page func(n int) string
		want string
	}{
		{"code 0 without data", func(int) string { return `{"code":0,"msg":"ok"}` }, "without data"},
		{"repeated page token", func(n int) string {
			return `{"code":0,"data":{"items":[` + fmt.Sprintf(item, n, n) + `],"page_token":"same","has_more":true}}`
		}, "page token repeated"},
		{"has_more without a token", func(int) string { return `{"code":0,"data":{"items":[],"has_more":true}}` }, "has_more without a page_token"},
		{"endless fresh tokens", func(n int) string {
			return fmt.Sprintf(`{"code":0,"data":{"items":[],"page_token":"p%d","has_more":true}}`, n)
		}, "more than 200 pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := brokenServer(t, tt.page)
			c := feishu.NewClient(feishu.ClientConfig{AppID: "cli_broken", AppSecret: "sec-" + rand.Text(), BaseURL: url,
				Timeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			d := NewDirectory(c, Options{Retry: feishu.RetryPolicy{Attempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			d.maxPages = 200 // the real bound, 20000, costs seconds of HTTP calls
			s, err := d.Get(context.Background())
			if s != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Get = %v, %v; want an error saying %q", s, err, tt.want)
			}
		})
	}
}
