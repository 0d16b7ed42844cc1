package feishufake

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

const pathToken = "/open-apis/auth/v3/tenant_access_token/internal"

// Feishu issues a token for 2 h and hands out a fresh one once the current one has
// less than 30 min left (feishu-platform.md §7.1).
const (
	tokenLifetime = 2 * time.Hour
	tokenRenewal  = 30 * time.Minute
)

// The generic auth codes of feishu-platform.md §7.3.
const (
	codeNoToken      = 99991661
	codeInvalidToken = 99991663
	codeNoScope      = 99991672
	codeRateLimited  = 99991400
	codeBadField     = 99992402
	codeBadSecret    = 10014
	codeBadParam     = 10003
)

type tokenState struct {
	issued  time.Time
	revoked bool
}

// TokenRequests counts tenant_access_token requests, failed ones included.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenReqs
}

// RevokeTokens invalidates every token issued so far: the next API call that uses
// one gets 99991663, and the next token request gets a new token.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, st := range s.tokens {
		st.revoked = true
		s.tokens[t] = st
	}
	s.current = ""
}

func (s *Server) handleToken(w *apiWriter, _ *http.Request, body []byte) {
	var req struct {
		AppID     string `json:"app_id"`
		AppSecret string `json:"app_secret"`
	}
	s.mu.Lock()
	s.tokenReqs++
	s.mu.Unlock()
	if !s.credentialsOK(w, json.Unmarshal(body, &req), req.AppID, req.AppSecret) {
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	cur, ok := s.tokens[s.current]
	if !ok || cur.revoked || now.Sub(cur.issued) > tokenLifetime-tokenRenewal {
		s.current = "t-" + randomHex(40)
		cur = tokenState{issued: now}
		s.tokens[s.current] = cur
	}
	token := s.current
	s.mu.Unlock()
	expire := int((tokenLifetime - now.Sub(cur.issued)) / time.Second)
	// This API answers outside the usual data envelope.
	w.json(http.StatusOK, struct {
		Code   int    `json:"code"`
		Msg    string `json:"msg"`
		Token  string `json:"tenant_access_token"`
		Expire int    `json:"expire"`
	}{0, "ok", token, expire})
}

// authorize checks the Bearer tenant token as the gateway does and answers the
// request itself when it fails.
func (s *Server) authorize(w *apiWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		w.fail(http.StatusBadRequest, codeNoToken, "Missing access token for authorization. Please make a request with token attached.")
		return false
	}
	now := s.opts.Now()
	s.mu.Lock()
	st, known := s.tokens[token]
	s.mu.Unlock()
	if !known || st.revoked || now.Sub(st.issued) >= tokenLifetime {
		w.fail(http.StatusBadRequest, codeInvalidToken, "Invalid access token for authorization. Please make a request with token attached.")
		return false
	}
	return true
}

func (s *Server) authed(h apiHandler) apiHandler {
	return func(w *apiWriter, r *http.Request, body []byte) {
		if s.authorize(w, r) {
			h(w, r, body)
		}
	}
}

// credentialsOK answers a request for a token or a connection whose app id and
// secret (decoded with decodeErr) are missing or not the app's, as Feishu does, and
// reports whether they are the app's.
func (s *Server) credentialsOK(w *apiWriter, decodeErr error, appID, secret string) bool {
	switch {
	case decodeErr != nil || appID == "" || secret == "":
		w.fail(http.StatusBadRequest, codeBadParam, "invalid param")
		return false
	case appID != s.opts.AppID || secret != s.opts.AppSecret:
		w.fail(http.StatusBadRequest, codeBadSecret, "app secret invalid")
		return false
	}
	return true
}
