package feishufake

import (
	"maps"
	"net/http"
	"time"
)

// codeQuotaExhausted is Feishu's answer to a counted call once the tenant's monthly
// quota is used up (feishu-platform.md §7.4).
const codeQuotaExhausted = 99991403

// countedRoutes are the routes Feishu counts against the monthly quota, by the kind
// the bot's /usage shows them as: IM and the bot's info (机器人) are not among the
// exempt business areas. The access token (认证及授权) and ACS (智能门禁) are exempt;
// ACS calls are tallied apart, as the bot shows them too.
var countedRoutes = map[string]string{
	"POST /open-apis/im/v1/messages":                    "send",
	"POST /open-apis/im/v1/messages/{message_id}/reply": "reply",
	"PATCH /open-apis/im/v1/messages/{message_id}":      "card_update",
	"GET /open-apis/im/v1/chats/{chat_id}":              "lookup",
	"GET /open-apis/bot/v3/info":                        "lookup",
}

// freeRoutes are the exempt ACS routes, by kind.
var freeRoutes = map[string]string{
	"GET " + pathACSUsers:                "acs_list",
	"GET " + pathACSUsers + "/{user_id}": "acs_get",
}

// quotaZone is where Feishu's month turns: China's, on the 1st.
var quotaZone = time.FixedZone("CST", 8*3600)

// quota is the tenant's monthly count of API calls, as Feishu keeps it.
type quota struct {
	limit   int            // counted calls allowed a month; 0: unlimited
	month   string         // "2006-01" the counts are of
	counted map[string]int // by kind
	free    map[string]int // exempt ACS calls, by kind
}

// Usage is this month's calls the fake answered with success, as Feishu counts
// them: failed calls (4xx, 5xx, a non-zero code) are not in it.
type Usage struct {
	Month string
	// Counted are the calls counted against the quota, by kind (reply, send,
	// card_update, lookup).
	Counted map[string]int
	// Free are the exempt ACS calls, by kind (acs_list, acs_get).
	Free map[string]int
}

// CountedTotal is the month's counted calls.
func (u Usage) CountedTotal() int {
	n := 0
	for _, c := range u.Counted {
		n += c
	}
	return n
}

// SetMonthlyQuota makes the tenant one of the free edition's: once n counted calls
// succeeded this month, every counted call fails with HTTP 429 and 99991403 until
// the month turns. 0 lifts the quota.
func (s *Server) SetMonthlyQuota(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quota.limit = n
}

// Usage is this month's calls, as Feishu counts them.
func (s *Server) Usage() Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollQuota()
	return Usage{Month: s.quota.month, Counted: maps.Clone(s.quota.counted), Free: maps.Clone(s.quota.free)}
}

// rollQuota starts a new month's count when the month turned; called with mu held.
func (s *Server) rollQuota() {
	month := s.opts.Now().In(quotaZone).Format("2006-01")
	if month != s.quota.month {
		s.quota.month, s.quota.counted, s.quota.free = month, map[string]int{}, map[string]int{}
	}
}

// quotaRefuses answers a counted call with 99991403 when the month's quota is used up.
func (s *Server) quotaRefuses(w *apiWriter, r *http.Request) bool {
	if _, counted := countedRoutes[r.Pattern]; !counted {
		return false
	}
	s.mu.Lock()
	s.rollQuota()
	over := s.quota.limit > 0 && s.quota.usedLocked() >= s.quota.limit
	s.mu.Unlock()
	if over {
		w.fail(http.StatusTooManyRequests, codeQuotaExhausted, "This month's API call quota has been exceeded")
	}
	return over
}

func (q *quota) usedLocked() int { return Usage{Counted: q.counted}.CountedTotal() }

// countCall counts a call Feishu would: one answered below 400 with code 0. The
// api wrapper calls it as the answer is written, before the client can read it.
func (s *Server) countCall(r *http.Request, status, code int) {
	if status == 0 || status >= 400 || code != 0 {
		return
	}
	kind, counted := countedRoutes[r.Pattern]
	free, exempt := freeRoutes[r.Pattern]
	if !counted && !exempt {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollQuota()
	if counted {
		s.quota.counted[kind]++
	} else {
		s.quota.free[free]++
	}
}
