package feishufake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	lark "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"

	"acsbot/clock"
)

var secretSeq atomic.Int64

const (
	testAppID   = "cli_fake0000000001"
	testVerify  = "verify-token-0001"
	testEncrypt = "encrypt-key-0001"
)

// newClock is a platform clock a test moves by hand.
func newClock() *clock.Fake { return clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) }

// newFake starts a fake with an app secret no other test uses: the SDK's token
// cache is process-wide and keyed by app id and secret (sdk-notes.md §1).
func newFake(t *testing.T, mod func(*Options)) *Server {
	t.Helper()
	o := Options{
		AppID: testAppID, AppSecret: fmt.Sprintf("secret-%d-%s", secretSeq.Add(1), t.Name()),
		VerificationToken: testVerify, EncryptKey: testEncrypt,
	}
	if mod != nil {
		mod(&o)
	}
	s := New(o)
	t.Cleanup(s.Close)
	return s
}

func newClient(s *Server) *lark.Client {
	o := s.Options()
	return lark.NewClient(o.AppID, o.AppSecret,
		lark.WithOpenBaseUrl(s.URL()),
		lark.WithHttpClient(&http.Client{Timeout: 10 * time.Second}),
		lark.WithLogLevel(larkcore.LogLevelError),
	)
}

// rawCall sends one request outside the SDK and decodes the JSON answer.
func rawCall(t *testing.T, s *Server, method, path, token string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, raw)
	}
	return resp.StatusCode, resp.Header, v
}

// token fetches a tenant token outside the SDK.
func token(t *testing.T, s *Server) string {
	t.Helper()
	o := s.Options()
	status, _, v := rawCall(t, s, http.MethodPost, pathToken, "", map[string]string{"app_id": o.AppID, "app_secret": o.AppSecret})
	tok, _ := v["tenant_access_token"].(string)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("token: status %d, %v", status, v)
	}
	return tok
}

func code(v map[string]any) int {
	f, _ := v["code"].(float64)
	return int(f)
}
