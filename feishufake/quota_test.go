package feishufake

import (
	"net/http"
	"testing"
	"time"

	"acsbot/acs"
)

// TestQuotaCountsLikeFeishu: successful IM calls and bot info count; the token, ACS
// calls and every failed call do not; past the quota a counted call fails with 429
// and 99991403 while ACS calls go on, and the month turning starts afresh.
func TestQuotaCountsLikeFeishu(t *testing.T) {
	clk := newClock()
	s := newFake(t, func(o *Options) { o.Now = clk.Now })
	s.SetChat("oc_facility", "Facility team")
	s.SetUsers([]acs.User{{ID: "ou_a", Card: 1}})
	tok := token(t, s)
	send := func() (int, map[string]any) {
		status, _, v := rawCall(t, s, http.MethodPost, "/open-apis/im/v1/messages?receive_id_type=chat_id", tok,
			map[string]string{"receive_id": "oc_facility", "msg_type": "interactive", "content": card(1)})
		return status, v
	}
	rawCall(t, s, http.MethodGet, "/open-apis/bot/v3/info", tok, nil)
	rawCall(t, s, http.MethodGet, "/open-apis/im/v1/chats/oc_facility", tok, nil)
	rawCall(t, s, http.MethodGet, "/open-apis/im/v1/chats/oc_nowhere", tok, nil) // fails: not counted
	rawCall(t, s, http.MethodGet, pathACSUsers+"?page_size=50", tok, nil)
	rawCall(t, s, http.MethodGet, pathACSUsers+"/ou_a", tok, nil)
	rawCall(t, s, http.MethodGet, pathACSUsers+"/ou_nobody", tok, nil) // 1490101: not counted
	if status, v := send(); status != http.StatusOK || code(v) != 0 {
		t.Fatalf("send: %d %v", status, v)
	}
	rawCall(t, s, http.MethodGet, "/open-apis/bot/v3/info", "", nil) // no token: fails

	u := s.Usage()
	if u.Month != "2026-03" || u.Counted["lookup"] != 2 || u.Counted["send"] != 1 || u.CountedTotal() != 3 {
		t.Fatalf("counted: %+v", u)
	}
	if u.Free["acs_list"] != 1 || u.Free["acs_get"] != 1 {
		t.Fatalf("free: %+v", u.Free)
	}

	s.SetMonthlyQuota(4)
	if status, v := send(); status != http.StatusOK || code(v) != 0 {
		t.Fatalf("the 4th call: %d %v", status, v)
	}
	status, _, v := rawCall(t, s, http.MethodGet, "/open-apis/im/v1/chats/oc_facility", tok, nil)
	if status != http.StatusTooManyRequests || code(v) != codeQuotaExhausted {
		t.Fatalf("past the quota: %d %v", status, v)
	}
	if status, _, v := rawCall(t, s, http.MethodGet, pathACSUsers+"?page_size=50", tok, nil); status != http.StatusOK || code(v) != 0 {
		t.Fatalf("ACS past the quota: %d %v", status, v)
	}
	if got := s.Usage(); got.CountedTotal() != 4 || got.Free["acs_list"] != 2 {
		t.Fatalf("refused calls counted: %+v", got)
	}

	clk.Set(time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC)) // April 1st, 00:00 in China
	tok = token(t, s)                                      // the old one expired meanwhile
	if status, v := send(); status != http.StatusOK || code(v) != 0 {
		t.Fatalf("a new month: %d %v", status, v)
	}
	if got := s.Usage(); got.Month != "2026-04" || got.CountedTotal() != 1 {
		t.Fatalf("a new month: %+v", got)
	}
}
