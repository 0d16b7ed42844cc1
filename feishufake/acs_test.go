package feishufake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	lark "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"

	"acsbot/acs"
)

func TestGenerateUsers(t *testing.T) {
	cases := []struct {
		n    int
		seed int64
	}{{0, 1}, {1, 1}, {123, 7}, {20000, 42}}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.n), func(t *testing.T) {
			a, b := GenerateUsers(c.n, c.seed), GenerateUsers(c.n, c.seed)
			if len(a) != c.n {
				t.Fatalf("%d users, want %d", len(a), c.n)
			}
			ids, cards := map[string]bool{}, map[int]bool{}
			noFace, noCard := 0, 0
			for i, u := range a {
				if u != b[i] {
					t.Fatalf("user %d differs between runs with one seed: %+v %+v", i, u, b[i])
				}
				if len(u.ID) != 35 || !strings.HasPrefix(u.ID, "ou_") || strings.Trim(u.ID[3:], "0123456789abcdef") != "" {
					t.Fatalf("id %q is not ou_ + 32 hex", u.ID)
				}
				if ids[u.ID] {
					t.Fatalf("duplicate id %s", u.ID)
				}
				ids[u.ID] = true
				if !u.FaceUploaded {
					noFace++
				}
				if u.Card == 0 {
					noCard++
					continue
				}
				if u.Card < 100000 || u.Card > 99999999 || cards[u.Card] {
					t.Fatalf("card %d is not a distinct 6-8 digit number", u.Card)
				}
				cards[u.Card] = true
			}
			if c.n >= 10000 {
				if r := float64(noFace) / float64(c.n); r < 0.10 || r > 0.14 {
					t.Errorf("no-face share %.3f, want about 0.12", r)
				}
				if r := float64(noCard) / float64(c.n); r < 0.065 || r > 0.095 {
					t.Errorf("no-card share %.3f, want about 0.08", r)
				}
			}
		})
	}
	if a, b := GenerateUsers(50, 1), GenerateUsers(50, 2); a[0] == b[0] {
		t.Error("different seeds gave the same first user")
	}
}

// listAll walks the directory by hand as design.md asks: page_token from each page
// until has_more is false. It checks the paging contract on the way.
func listAll(ctx context.Context, cli *lark.Client, pageSize int) ([]acs.User, error) {
	var out []acs.User
	tok := ""
	for page := 1; ; page++ {
		b := larkacs.NewListUserReqBuilder().PageSize(pageSize).UserIdType("open_id")
		if tok != "" {
			b.PageToken(tok)
		}
		resp, err := cli.Acs.V1.User.List(ctx, b.Build())
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		if !resp.Success() {
			return nil, fmt.Errorf("page %d: %w", page, resp.CodeError)
		}
		for _, u := range resp.Data.Items {
			out = append(out, acs.User{ID: larkcore.StringValue(u.UserId), Card: larkcore.IntValue(u.Feature.Card), FaceUploaded: larkcore.BoolValue(u.Feature.FaceUploaded)})
		}
		if !larkcore.BoolValue(resp.Data.HasMore) {
			if resp.Data.PageToken != nil {
				return nil, fmt.Errorf("last page %d carries page_token %q", page, *resp.Data.PageToken)
			}
			return out, nil
		}
		if tok = larkcore.StringValue(resp.Data.PageToken); tok == "" {
			return nil, fmt.Errorf("page %d has more but no page_token", page)
		}
	}
}

func TestListUsersFullWalk(t *testing.T) {
	users := GenerateUsers(123, 5)
	users[0].Card, users[1].FaceUploaded = 0, false // both absences travel
	cases := []struct {
		pageSize, wantCalls int
	}{{50, 3}, {1, 123}, {7, 18}, {20, 7}}
	for _, c := range cases {
		t.Run("page_size="+strconv.Itoa(c.pageSize), func(t *testing.T) {
			s := newFake(t, nil)
			s.SetUsers(users)
			got, err := listAll(context.Background(), newClient(s), c.pageSize)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(users) {
				t.Fatalf("%d users, want %d", len(got), len(users))
			}
			for i := range users {
				if got[i] != users[i] {
					t.Fatalf("user %d: got %+v want %+v", i, got[i], users[i])
				}
			}
			if n := s.ACSListCalls(); n != c.wantCalls {
				t.Errorf("%d list calls, want %d", n, c.wantCalls)
			}
		})
	}
}

func TestListUsersWire(t *testing.T) {
	s := newFake(t, nil)
	s.SetUsers([]acs.User{{ID: "ou_a", Card: 0, FaceUploaded: true}, {ID: "ou_b", Card: 7654321}})
	tok := token(t, s)
	status, _, v := rawCall(t, s, http.MethodGet, pathACSUsers, tok, nil)
	if status != 200 || code(v) != 0 {
		t.Fatalf("status %d %v", status, v)
	}
	data := v["data"].(map[string]any)
	items := data["items"].([]any)
	first := items[0].(map[string]any)["feature"].(map[string]any)
	second := items[1].(map[string]any)["feature"].(map[string]any)
	if _, has := first["card"]; has {
		t.Errorf("a user without a card has a card field: %v", first)
	}
	if second["card"] != float64(7654321) || second["face_uploaded"] != false {
		t.Errorf("second user's feature %v", second)
	}
	if _, has := data["page_token"]; has || data["has_more"] != false {
		t.Errorf("single page: %v", data)
	}
}

func TestListUsersBadRequests(t *testing.T) {
	s := newFake(t, nil)
	other := newFake(t, nil)
	s.SetUsers(GenerateUsers(60, 1))
	other.SetUsers(GenerateUsers(60, 1))
	tok, otherTok := token(t, s), token(t, other)
	_, _, v := rawCall(t, other, http.MethodGet, pathACSUsers+"?page_size=10", otherTok, nil)
	foreign := v["data"].(map[string]any)["page_token"].(string)
	_, _, v = rawCall(t, s, http.MethodGet, pathACSUsers+"?page_size=10", tok, nil)
	valid := v["data"].(map[string]any)["page_token"].(string)
	cases := []struct {
		name, query string
		wantStatus  int
		wantCode    int
	}{
		{"page_size 0", "page_size=0", 400, codeBadField},
		{"page_size 51", "page_size=51", 400, codeBadField},
		{"page_size not a number", "page_size=ten", 400, codeBadField},
		{"user_id_type unknown", "user_id_type=email", 400, codeBadField},
		{"garbled page token", "page_token=" + url.QueryEscape(valid[:len(valid)-2]+"xx"), 400, codeInvalidPageToken},
		{"not base64", "page_token=%21%21", 400, codeInvalidPageToken},
		{"token of another fake", "page_token=" + url.QueryEscape(foreign), 400, codeInvalidPageToken},
		{"valid token", "page_token=" + url.QueryEscape(valid), 200, 0},
		{"defaults", "", 200, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, h, v := rawCall(t, s, http.MethodGet, pathACSUsers+"?"+c.query, tok, nil)
			if status != c.wantStatus || code(v) != c.wantCode {
				t.Fatalf("status %d code %d, want %d %d: %v", status, code(v), c.wantStatus, c.wantCode, v)
			}
			if c.wantCode != 0 {
				if e, _ := v["error"].(map[string]any); e["log_id"] != h.Get("X-Tt-Logid") {
					t.Errorf("error.log_id %v, header %q", e["log_id"], h.Get("X-Tt-Logid"))
				}
			}
		})
	}
	_, _, v = rawCall(t, s, http.MethodGet, pathACSUsers, tok, nil)
	if n := len(v["data"].(map[string]any)["items"].([]any)); n != acsDefaultPageSize {
		t.Errorf("default page holds %d users, want %d", n, acsDefaultPageSize)
	}
}

// Each fault kind reaches the SDK caller the way sdk-notes.md §3 says the real one does.
func TestACSFaults(t *testing.T) {
	type outcome struct {
		resp *larkacs.ListUserResp
		err  error
	}
	cases := []struct {
		name      string
		fault     Fault
		ctx       time.Duration // deadline of the call; 0 = none
		wantCalls int           // list calls the SDK makes
		check     func(t *testing.T, o outcome)
	}{
		{"invalid page token", Fault{Kind: FaultInvalidPageToken}, 0, 1, func(t *testing.T, o outcome) {
			wantCode(t, o.resp, o.err, 400, codeInvalidPageToken)
		}},
		{"rate limit", Fault{Kind: FaultRateLimit, ResetSeconds: 3}, 0, 1, func(t *testing.T, o outcome) {
			wantCode(t, o.resp, o.err, 429, codeRateLimited)
			if h := o.resp.Header; h.Get("x-ogw-ratelimit-reset") != "3" || h.Get("x-ogw-ratelimit-limit") == "" {
				t.Errorf("rate limit headers %v", h)
			}
		}},
		{"server error", Fault{Kind: FaultServerError}, 0, 1, func(t *testing.T, o outcome) {
			wantCode(t, o.resp, o.err, 500, codeACSSystemError)
		}},
		{"bad gateway", Fault{Kind: FaultBadGateway}, 0, 1, func(t *testing.T, o outcome) {
			if o.err == nil || !strings.Contains(o.err.Error(), "content-type not json") {
				t.Fatalf("err %v, want the SDK's content-type error", o.err)
			}
		}},
		{"hang until the caller gives up", Fault{Kind: FaultHang}, 200 * time.Millisecond, 1, func(t *testing.T, o outcome) {
			var te *larkcore.ClientTimeoutError
			if !errors.As(o.err, &te) {
				t.Fatalf("err %T %v, want *larkcore.ClientTimeoutError", o.err, o.err)
			}
		}},
		{"token invalid for good", Fault{Kind: FaultTokenInvalid}, 0, 2, func(t *testing.T, o outcome) {
			wantCode(t, o.resp, o.err, 400, codeInvalidToken)
		}},
		{"token invalid once: the SDK's retry succeeds", Fault{Kind: FaultTokenInvalid, Times: 1}, 0, 2, func(t *testing.T, o outcome) {
			wantCode(t, o.resp, o.err, 200, 0)
		}},
		{"permission", Fault{Kind: FaultPermission}, 0, 1, func(t *testing.T, o outcome) {
			wantCode(t, o.resp, o.err, 400, codeNoScope)
			if o.resp.Err == nil || len(o.resp.Err.PermissionViolations) == 0 || o.resp.Err.PermissionViolations[0].Subject != "acs:users" {
				t.Errorf("no permission violation naming acs:users: %s", o.resp.RawBody)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newFake(t, nil)
			s.SetUsers(GenerateUsers(10, 1))
			s.InjectACSFault(c.fault)
			ctx := context.Background()
			if c.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.ctx)
				defer cancel()
			}
			resp, err := newClient(s).Acs.V1.User.List(ctx, larkacs.NewListUserReqBuilder().PageSize(50).Build())
			c.check(t, outcome{resp, err})
			if n := s.ACSListCalls(); n != c.wantCalls {
				t.Errorf("%d list calls, want %d", n, c.wantCalls)
			}
		})
	}
}

func wantCode(t *testing.T, resp *larkacs.ListUserResp, err error, status, code int) {
	t.Helper()
	if err != nil {
		t.Fatalf("err %v, want an API answer", err)
	}
	if resp.StatusCode != status || resp.Code != code {
		t.Fatalf("status %d code %d, want %d %d: %s", resp.StatusCode, resp.Code, status, code, resp.RawBody)
	}
	if resp.RequestId() == "" {
		t.Error("no X-Tt-Logid")
	}
	if code != 0 && resp.Data != nil && len(resp.Data.Items) > 0 {
		t.Error("an error answer carries items")
	}
}

// A fault aimed at one page of a scan, a limited number of times, fails only that.
func TestFaultPageAndTimes(t *testing.T) {
	s := newFake(t, nil)
	s.SetUsers(GenerateUsers(130, 1))
	s.InjectACSFault(Fault{Kind: FaultServerError, Page: 2, Times: 2})
	cli := newClient(s)
	ctx := context.Background()
	list := func(tok string) *larkacs.ListUserResp {
		b := larkacs.NewListUserReqBuilder().PageSize(50)
		if tok != "" {
			b.PageToken(tok)
		}
		resp, err := cli.Acs.V1.User.List(ctx, b.Build())
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	p1 := list("")
	if !p1.Success() {
		t.Fatalf("page 1: %d", p1.Code)
	}
	tok := *p1.Data.PageToken
	steps := []int{codeACSSystemError, codeACSSystemError, 0, 0}
	for i, want := range steps {
		t.Run("page 2 try "+strconv.Itoa(i+1), func(t *testing.T) {
			if got := list(tok); got.Code != want {
				t.Fatalf("code %d, want %d", got.Code, want)
			}
		})
	}
	p3 := list(*list(tok).Data.PageToken)
	if !p3.Success() || larkcore.BoolValue(p3.Data.HasMore) || len(p3.Data.Items) != 30 {
		t.Fatalf("page 3: code %d, %d items", p3.Code, len(p3.Data.Items))
	}
	s.InjectACSFault(Fault{Kind: FaultPermission})
	if got := list(""); got.Code != codeNoScope {
		t.Fatalf("a fault for any page left page 1 alone: %d", got.Code)
	}
	s.ClearFaults()
	if got := list(""); !got.Success() {
		t.Fatalf("after ClearFaults: %d", got.Code)
	}
}

// Latency holds the page until the caller gives up, and Close frees a hung request.
func TestLatencyAndCloseRelease(t *testing.T) {
	t.Run("latency honours the caller's deadline", func(t *testing.T) {
		s := newFake(t, nil)
		s.SetUsers(GenerateUsers(3, 1))
		s.SetPageLatency(time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := newClient(s).Acs.V1.User.List(ctx, larkacs.NewListUserReqBuilder().Build())
		var te *larkcore.ClientTimeoutError
		if !errors.As(err, &te) {
			t.Fatalf("err %v, want a client timeout", err)
		}
	})
	t.Run("latency is served", func(t *testing.T) {
		s := newFake(t, nil)
		s.SetUsers(GenerateUsers(3, 1))
		s.SetPageLatency(time.Millisecond)
		resp, err := newClient(s).Acs.V1.User.List(context.Background(), larkacs.NewListUserReqBuilder().Build())
		if err != nil || !resp.Success() || len(resp.Data.Items) != 3 {
			t.Fatalf("%v %v", err, resp)
		}
	})
	t.Run("Close frees a hung request", func(t *testing.T) {
		s := newFake(t, nil)
		s.InjectACSFault(Fault{Kind: FaultHang})
		cli := newClient(s)
		tok := token(t, s)
		done := make(chan error, 1)
		go func() {
			_, err := cli.Acs.V1.User.List(context.Background(), larkacs.NewListUserReqBuilder().Build(), larkcore.WithTenantAccessToken(tok))
			done <- err
		}()
		for s.ACSListCalls() == 0 {
			time.Sleep(time.Millisecond) // waiting for the goroutine's request to arrive
		}
		s.Close() // must not wait the 60 s of the hang
		<-done
	})
}

// Concurrent scans, writers and readers: run with -race.
func TestConcurrentUse(t *testing.T) {
	s := newFake(t, nil)
	users := GenerateUsers(200, 3)
	s.SetUsers(users)
	cli := newClient(s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if got, err := listAll(context.Background(), cli, 50); err != nil || len(got) != len(users) {
				t.Errorf("scan %d: %d users, %v", i, len(got), err)
			}
		})
	}
	wg.Go(func() {
		for _, u := range users[:50] {
			u.FaceUploaded = !u.FaceUploaded
			s.SetUser(u)
			_ = s.Users()
			_ = s.Calls()
		}
	})
	wg.Wait()
	if n := s.ACSListCalls(); n != 8*4 {
		t.Errorf("%d list calls, want 32", n)
	}
}

// GET /acs/v1/users/:user_id answers through the SDK as sdk-notes.md §2 says the real
// one does: the user on success; on an unknown user err nil, HTTP 400, 1490101, no data.
func TestGetUser(t *testing.T) {
	s := newFake(t, nil)
	s.SetUsers([]acs.User{{ID: "ou_a", Card: 123456, FaceUploaded: true}, {ID: "ou_b"}})
	cli := newClient(s)
	cases := []struct {
		name, id, idType string
		wantStatus       int
		wantCode         int
		want             acs.User
	}{
		{"known user", "ou_a", "open_id", 200, 0, acs.User{ID: "ou_a", Card: 123456, FaceUploaded: true}},
		{"known user without card or face", "ou_b", "open_id", 200, 0, acs.User{ID: "ou_b"}},
		{"union_id type", "ou_a", "union_id", 200, 0, acs.User{ID: "ou_a", Card: 123456, FaceUploaded: true}},
		{"unknown user", "ou_nobody", "open_id", 400, codeACSUserNotFound, acs.User{}},
		{"bad user_id_type", "ou_a", "email", 400, codeBadField, acs.User{}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := cli.Acs.V1.User.Get(context.Background(),
				larkacs.NewGetUserReqBuilder().UserId(c.id).UserIdType(c.idType).Build())
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.wantStatus || resp.Code != c.wantCode {
				t.Fatalf("status %d code %d, want %d %d", resp.StatusCode, resp.Code, c.wantStatus, c.wantCode)
			}
			if got := s.ACSGetCalls(); got != i+1 {
				t.Errorf("ACSGetCalls = %d, want %d", got, i+1)
			}
			if c.wantCode != 0 {
				if resp.Data != nil {
					t.Errorf("an error carries data: %+v", resp.Data)
				}
				return
			}
			u := resp.Data.User
			got := acs.User{ID: larkcore.StringValue(u.UserId), Card: larkcore.IntValue(u.Feature.Card), FaceUploaded: larkcore.BoolValue(u.Feature.FaceUploaded)}
			if got != c.want {
				t.Errorf("user %+v, want %+v", got, c.want)
			}
		})
	}
	if s.ACSListCalls() != 0 {
		t.Errorf("single-user calls counted as list calls: %d", s.ACSListCalls())
	}
}

func TestGetUserWire(t *testing.T) {
	s := newFake(t, nil)
	s.SetUsers([]acs.User{{ID: "ou_a", FaceUploaded: true}})
	status, _, v := rawCall(t, s, http.MethodGet, pathACSUsers+"/ou_a?user_id_type=open_id", "", nil)
	if status != 400 || code(v) != codeNoToken {
		t.Fatalf("without a token: status %d %v", status, v)
	}
	status, _, v = rawCall(t, s, http.MethodGet, pathACSUsers+"/ou_a?user_id_type=open_id", token(t, s), nil)
	if status != 200 || code(v) != 0 {
		t.Fatalf("status %d %v", status, v)
	}
	feature := v["data"].(map[string]any)["user"].(map[string]any)["feature"].(map[string]any)
	if _, has := feature["card"]; has || feature["face_uploaded"] != true {
		t.Errorf("feature %v: a user without a card has no card field", feature)
	}
	_, h, v := rawCall(t, s, http.MethodGet, pathACSUsers+"/ou_x", token(t, s), nil)
	if e, _ := v["error"].(map[string]any); code(v) != codeACSUserNotFound || e["log_id"] != h.Get("X-Tt-Logid") {
		t.Errorf("unknown user: %v (log id header %q)", v, h.Get("X-Tt-Logid"))
	}
	if got := s.ACSGetCalls(); got != 3 {
		t.Errorf("ACSGetCalls = %d, want 3: refused calls count too", got)
	}
}
