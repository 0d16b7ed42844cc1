package feishufake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"acsbot/acs"
)

const pathACSUsers = "/open-apis/acs/v1/users"

// ACS list limits and codes (feishu-platform.md §6).
const (
	acsDefaultPageSize   = 20
	acsMaxPageSize       = 50
	codeInvalidPageToken = 1490018
	codeACSSystemError   = 1490001
	codeACSUserNotFound  = 1490101
)

// hangLimit is how long FaultHang holds a request whose client never gives up; it
// then answers as Feishu's gateway does, with a 504.
const hangLimit = 60 * time.Second

// GenerateUsers makes n plausible ACS users, the same for the same seed: open ids
// "ou_" + 32 hex, about 12% without a face photo, about 8% without a card, and
// distinct card numbers of 6 to 8 digits.
func GenerateUsers(n int, seed int64) []acs.User {
	if n <= 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed_ac5_b07))
	ids := make(map[string]bool, n)
	cards := make(map[int]bool, n)
	users := make([]acs.User, 0, n)
	for len(users) < n {
		id := fmt.Sprintf("ou_%016x%016x", r.Uint64(), r.Uint64())
		if ids[id] {
			continue
		}
		ids[id] = true
		u := acs.User{ID: id, FaceUploaded: r.Float64() >= 0.12}
		if r.Float64() >= 0.08 {
			digits := 6 + r.IntN(3)
			lo := pow10(digits - 1)
			for u.Card == 0 || cards[u.Card] {
				u.Card = lo + r.IntN(9*lo)
			}
			cards[u.Card] = true
		}
		users = append(users, u)
	}
	return users
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// SetUsers replaces the ACS directory; the list API returns users in this order.
func (s *Server) SetUsers(users []acs.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = slices.Clone(users)
}

// SetUser adds a user, or replaces the one with the same ID in place.
func (s *Server) SetUser(u acs.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.users, func(x acs.User) bool { return x.ID == u.ID }); i >= 0 {
		s.users[i] = u
		return
	}
	s.users = append(s.users, u)
}

// Users returns a copy of the ACS directory.
func (s *Server) Users() []acs.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.users)
}

// SetPageLatency delays every ACS user call, a list page or one user, by d (cut short
// if the caller gives up).
func (s *Server) SetPageLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// ACSListCalls counts ACS user list requests received, faulted and refused ones included.
func (s *Server) ACSListCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acsCalls
}

// ACSGetCalls counts single-user requests (GET /acs/v1/users/:user_id) received,
// refused ones included.
func (s *Server) ACSGetCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acsGetCalls
}

// FaultKind is a way the ACS list API can fail.
type FaultKind int

// The ACS faults, each answered as the real platform answers it.
const (
	// FaultInvalidPageToken: HTTP 400, code 1490018 "page token is invalid".
	FaultInvalidPageToken FaultKind = iota + 1
	// FaultRateLimit: HTTP 429, code 99991400, headers x-ogw-ratelimit-limit and
	// x-ogw-ratelimit-reset (Fault.ResetSeconds, default 1).
	FaultRateLimit
	// FaultServerError: HTTP 500 with a JSON body, code 1490001.
	FaultServerError
	// FaultBadGateway: HTTP 502 with an HTML body, as a proxy in front of Feishu sends.
	FaultBadGateway
	// FaultHang: no answer until the caller gives up; after 60 s an HTTP 504.
	FaultHang
	// FaultTokenInvalid: HTTP 400, code 99991663, as for a revoked tenant token.
	FaultTokenInvalid
	// FaultPermission: HTTP 400, code 99991672, the acs:users scope not granted.
	FaultPermission
)

func (k FaultKind) String() string {
	switch k {
	case FaultInvalidPageToken:
		return "invalid_page_token"
	case FaultRateLimit:
		return "rate_limit"
	case FaultServerError:
		return "server_error"
	case FaultBadGateway:
		return "bad_gateway"
	case FaultHang:
		return "hang"
	case FaultTokenInvalid:
		return "token_invalid"
	case FaultPermission:
		return "permission"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault makes ACS list calls fail. Faults are tried in the order injected; the first
// that matches a call answers it.
type Fault struct {
	Kind         FaultKind
	Page         int // 1-based page of a scan (page 1 = no page_token); 0 = any page
	Times        int // how many calls it fails; 0 = every matching call
	ResetSeconds int // x-ogw-ratelimit-reset for FaultRateLimit; 0 = 1
}

// InjectACSFault adds a fault to the ACS list API.
func (s *Server) InjectACSFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.add(f, f.Times)
}

// ClearFaults removes every ACS fault and message fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.clear()
	s.msgFaults.clear()
}

// takeFault returns the fault that answers a call for page, using one of its times.
func (s *Server) takeFault(page int) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.take(func(f Fault) bool { return f.Page == 0 || f.Page == page })
}

type acsUser struct {
	UserID  string     `json:"user_id"`
	Feature acsFeature `json:"feature"`
}

type acsFeature struct {
	Card         int  `json:"card,omitempty"` // the API leaves out a card the user does not have
	FaceUploaded bool `json:"face_uploaded"`
}

type acsPage struct {
	Items     []acsUser `json:"items"`
	PageToken string    `json:"page_token,omitempty"` // absent on the last page
	HasMore   bool      `json:"has_more"`
}

func (s *Server) handleListUsers(w *apiWriter, r *http.Request, _ []byte) {
	if !s.admitUserCall(w, r, &s.acsCalls) {
		return
	}
	q := r.URL.Query()
	size, offset, page, ok := s.paging(w, q, acsDefaultPageSize, acsMaxPageSize)
	if !ok {
		return
	}
	if f, ok := s.takeFault(page); ok {
		s.serveFault(w, r, f)
		return
	}
	s.mu.Lock()
	total := len(s.users)
	start := min(offset, total)
	end := min(start+size, total)
	items := make([]acsUser, 0, end-start)
	for _, u := range s.users[start:end] {
		items = append(items, acsUser{UserID: u.ID, Feature: acsFeature{Card: u.Card, FaceUploaded: u.FaceUploaded}})
	}
	s.mu.Unlock()
	p := acsPage{Items: items, HasMore: end < total}
	if p.HasMore {
		p.PageToken = s.encodePageToken(end, page+1)
	}
	w.ok(p)
}

// paging reads a list's page_size (def when absent, 1 to most) and page_token (the
// next offset and page number), answering a bad one as Feishu does; ok says the
// caller answers.
func (s *Server) paging(w *apiWriter, q url.Values, def, most int) (size, offset, page int, ok bool) {
	size, page = def, 1
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > most {
			w.fail(http.StatusBadRequest, codeBadField, "field validation failed",
				fieldViolation{Field: "page_size", Value: v, Description: fmt.Sprintf("page_size must be between 1 and %d", most)})
			return 0, 0, 0, false
		}
		size = n
	}
	if v := q.Get("page_token"); v != "" {
		if offset, page, ok = s.decodePageToken(v); !ok {
			w.fail(http.StatusBadRequest, codeInvalidPageToken, "page token is invalid")
			return 0, 0, 0, false
		}
	}
	return size, offset, page, true
}

// handleGetUser serves GET /open-apis/acs/v1/users/:user_id. A user the directory
// lacks is one in no permission group: HTTP 400 with 1490101, as Feishu answers. The
// fake's users have one id each, which answers whatever user_id_type asks for.
func (s *Server) handleGetUser(w *apiWriter, r *http.Request, _ []byte) {
	if !s.admitUserCall(w, r, &s.acsGetCalls) {
		return
	}
	id := r.PathValue("user_id")
	s.mu.Lock()
	i := slices.IndexFunc(s.users, func(u acs.User) bool { return u.ID == id })
	var u acs.User
	if i >= 0 {
		u = s.users[i]
	}
	s.mu.Unlock()
	if i < 0 {
		w.fail(http.StatusBadRequest, codeACSUserNotFound, "user not found")
		return
	}
	w.ok(map[string]acsUser{"user": {UserID: u.ID, Feature: acsFeature{Card: u.Card, FaceUploaded: u.FaceUploaded}}})
}

func (s *Server) serveFault(w *apiWriter, r *http.Request, f Fault) {
	switch f.Kind {
	case FaultInvalidPageToken:
		w.fail(http.StatusBadRequest, codeInvalidPageToken, "page token is invalid")
	case FaultRateLimit:
		rateLimited(w, f.ResetSeconds, codeRateLimited)
	case FaultServerError:
		w.fail(http.StatusInternalServerError, codeACSSystemError, "system error, please try again later")
	case FaultBadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"))
	case FaultHang:
		if s.wait(r.Context(), hangLimit) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusGatewayTimeout)
			_, _ = w.Write([]byte("upstream request timeout"))
		}
	case FaultTokenInvalid:
		w.fail(http.StatusBadRequest, codeInvalidToken, "Invalid access token for authorization. Please make a request with token attached.")
	case FaultPermission:
		e := errorBody{LogID: w.logID, PermissionViolations: []permissionViolation{{
			Type: "action_scope_required", Subject: "acs:users", Description: "acs:users",
		}}}
		w.json(http.StatusBadRequest, envelope{Code: codeNoScope, Error: &e,
			Msg: "Access denied. One of the following scopes is required: [acs:users]. 应用尚未开通所需的应用身份权限：[acs:users]"})
	default:
		w.fail(http.StatusInternalServerError, codeACSSystemError, "fake: unknown fault kind "+f.Kind.String())
	}
}

// rateLimited answers as Feishu's gateway does over a limit (feishu-platform.md §7.2).
func rateLimited(w *apiWriter, resetSeconds, code int) {
	if resetSeconds <= 0 {
		resetSeconds = 1
	}
	w.Header().Set("x-ogw-ratelimit-limit", "50")
	w.Header().Set("x-ogw-ratelimit-reset", strconv.Itoa(resetSeconds))
	w.fail(http.StatusTooManyRequests, code, "request trigger frequency limit")
}

// Page tokens carry the next offset and page number, signed with a key of this fake,
// so a garbled token, or one from another fake, is refused like a stale real one.
const pageTokenMAC = 12

func (s *Server) encodePageToken(offset, page int) string {
	b := make([]byte, 8, 8+pageTokenMAC)
	binary.BigEndian.PutUint32(b[0:4], uint32(offset))
	binary.BigEndian.PutUint32(b[4:8], uint32(page))
	return base64.RawURLEncoding.EncodeToString(append(b, s.pageMAC(b)...))
}

func (s *Server) decodePageToken(tok string) (offset, page int, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 8+pageTokenMAC || !hmac.Equal(b[8:], s.pageMAC(b[:8])) {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint32(b[0:4])), int(binary.BigEndian.Uint32(b[4:8])), true
}

func (s *Server) pageMAC(payload []byte) []byte {
	m := hmac.New(sha256.New, s.pageKey)
	m.Write(payload)
	return m.Sum(nil)[:pageTokenMAC]
}

// admitUserCall counts a call of the ACS user APIs in calls, checks its token, holds
// it for the page latency and checks its user_id_type, as both user APIs do; it
// reports whether the call goes on. calls is guarded by s.mu.
func (s *Server) admitUserCall(w *apiWriter, r *http.Request, calls *int) bool {
	s.mu.Lock()
	*calls++
	latency := s.latency
	s.mu.Unlock()
	if !s.authorize(w, r) {
		return false
	}
	if !s.wait(r.Context(), latency) {
		return false // the caller gave up: nobody reads an answer
	}
	if v := r.URL.Query().Get("user_id_type"); v != "" && v != "open_id" && v != "union_id" && v != "user_id" {
		w.fail(http.StatusBadRequest, codeBadField, "field validation failed",
			fieldViolation{Field: "user_id_type", Value: v, Description: "user_id_type must be one of open_id, union_id, user_id"})
		return false
	}
	return true
}
