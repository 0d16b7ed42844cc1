package feishufake

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"
)

func TestTokenRequest(t *testing.T) {
	s := newFake(t, nil)
	o := s.Options()
	cases := []struct {
		name       string
		body       map[string]string
		wantStatus int
		wantCode   int
	}{
		{"right id and secret", map[string]string{"app_id": o.AppID, "app_secret": o.AppSecret}, 200, 0},
		{"wrong secret", map[string]string{"app_id": o.AppID, "app_secret": "nope"}, 400, codeBadSecret},
		{"wrong app id", map[string]string{"app_id": "cli_other", "app_secret": o.AppSecret}, 400, codeBadSecret},
		{"no secret", map[string]string{"app_id": o.AppID}, 400, codeBadParam},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, h, v := rawCall(t, s, http.MethodPost, pathToken, "", c.body)
			if status != c.wantStatus || code(v) != c.wantCode {
				t.Fatalf("status %d code %d, want %d %d: %v", status, code(v), c.wantStatus, c.wantCode, v)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "application/json") || h.Get("X-Tt-Logid") == "" {
				t.Errorf("headers %v lack a JSON content type or a log id", h)
			}
			tok, _ := v["tenant_access_token"].(string)
			if (c.wantCode == 0) != strings.HasPrefix(tok, "t-") {
				t.Errorf("token %q in %v", tok, v)
			}
			if c.wantCode == 0 && v["expire"] != float64(7200) {
				t.Errorf("expire %v, want 7200", v["expire"])
			}
		})
	}
	if got := s.TokenRequests(); got != len(cases) {
		t.Errorf("TokenRequests %d, want %d", got, len(cases))
	}
}

// The same token comes back while it has 30 minutes or more to live, then a new one;
// an old token works until its 2 hours are up.
func TestTokenLifetime(t *testing.T) {
	clock := newClock()
	s := newFake(t, func(o *Options) { o.Now = clock.Now })
	first := token(t, s)
	clock.Add(80 * time.Minute)
	if again := token(t, s); again != first {
		t.Fatalf("with 40 min left the token changed: %q -> %q", first, again)
	}
	clock.Add(15 * time.Minute)
	second := token(t, s)
	if second == first {
		t.Fatal("with 25 min left the same token came back")
	}
	cases := []struct {
		name    string
		advance time.Duration
		tok     string
		want    int
	}{
		{"old token, 1h59m old", 24 * time.Minute, first, 0},
		{"old token, 2h old", time.Minute, first, codeInvalidToken},
		{"new token", 0, second, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock.Add(c.advance)
			if _, _, v := rawCall(t, s, http.MethodGet, "/open-apis/bot/v3/info", c.tok, nil); code(v) != c.want {
				t.Fatalf("code %d, want %d: %v", code(v), c.want, v)
			}
		})
	}
}

func TestAuthorization(t *testing.T) {
	s := newFake(t, nil)
	good := token(t, s)
	cases := []struct {
		name   string
		header string
		want   int
	}{
		{"no header", "", codeNoToken},
		{"not bearer", "Basic " + good, codeNoToken},
		{"empty bearer", "Bearer ", codeNoToken},
		{"unknown token", "Bearer t-0000", codeInvalidToken},
		{"issued token", "Bearer " + good, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, s.URL()+"/open-apis/bot/v3/info", nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			calls := s.Calls()
			last := calls[len(calls)-1]
			if last.Code != c.want {
				t.Fatalf("code %d, want %d (%s)", last.Code, c.want, last.RespBody)
			}
			if c.want != 0 && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}

// The SDK fetches a token by itself, and after RevokeTokens its cached token gets
// 99991663; it retries once with the same token, as sdk-notes.md §3 says.
func TestSDKTokenFlowAndRevocation(t *testing.T) {
	s := newFake(t, nil)
	s.SetUsers(GenerateUsers(3, 1))
	cli := newClient(s)
	req := func() *larkacs.ListUserReq {
		return larkacs.NewListUserReqBuilder().PageSize(50).UserIdType("open_id").Build()
	}
	resp, err := cli.Acs.V1.User.List(context.Background(), req())
	if err != nil || !resp.Success() {
		t.Fatalf("list: %v %v", err, resp)
	}
	if n := s.TokenRequests(); n != 1 {
		t.Fatalf("TokenRequests %d, want 1", n)
	}
	s.RevokeTokens()
	before := s.ACSListCalls()
	resp, err = cli.Acs.V1.User.List(context.Background(), req())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code != codeInvalidToken || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("after revoke: status %d code %d, want 400 %d", resp.StatusCode, resp.Code, codeInvalidToken)
	}
	if got := s.ACSListCalls() - before; got != 2 {
		t.Errorf("SDK sent %d list calls, want 2 (one retry)", got)
	}
	// A fresh client (a bot that dropped its cached token) gets a new, working token.
	cli2 := newClient(s)
	resp, err = cli2.Acs.V1.User.List(context.Background(), req(), larkcore.WithTenantAccessToken(token(t, s)))
	if err != nil || !resp.Success() {
		t.Fatalf("with a new token: %v %v", err, resp)
	}
}
