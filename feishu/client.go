// Package feishu is everything that sits next to the Feishu SDK client: building the
// client, classifying its failures once, retrying them, and the few message and chat
// calls the bot makes.
package feishu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	lark "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	gocache "github.com/patrickmn/go-cache"

	"acsbot/clock"
	"acsbot/metrics"
	"acsbot/usage"
)

// ClientConfig is what NewClient needs. Logger and Metrics may be nil.
type ClientConfig struct {
	AppID     string
	AppSecret string
	BaseURL   string        // e.g. https://open.feishu.cn, or a local fake in tests
	Timeout   time.Duration // bounds one HTTP call; 0 means no bound
	Logger    *slog.Logger
	Metrics   *metrics.Metrics
	// Meter is told of every call Feishu answered with success, and of the monthly
	// quota running out; nil counts nothing.
	Meter *usage.Meter
}

// Client wraps the SDK client with the bot's token store, logger and metrics.
type Client struct {
	lark    *lark.Client
	tokens  *tokenStore
	appID   string
	secret  string // kept only to compute this app's token cache keys; never printed
	log     *slog.Logger
	metrics *metrics.Metrics
	meter   *usage.Meter
	// chatNames keeps chat names for chatNameTTL: each look-up is a call Feishu
	// counts against the monthly quota, and a chat is seldom renamed.
	chatNames *gocache.Cache
	// msgRetry is the retry budget of message and chat calls. They run while a user
	// waits for an answer, so it is short; Feishu's IM limits reset within seconds.
	msgRetry RetryPolicy
	// sleep waits between attempts; tests replace it to observe waits without taking them.
	sleep func(ctx context.Context, d time.Duration) error
}

// processTokens is the single token store of the process, installed into the SDK by the
// first NewClient only. It has to be process-wide because the SDK keeps its token cache
// in a package variable (larkcore tokenManager): every lark.NewClient given
// WithTokenCache overwrites it, unsynchronised, for every client. Installing a store per
// Client would race with calls already in flight and leave older Clients unable to evict
// their stale tokens from the store the SDK actually reads. SDK keys carry the app id and
// a fingerprint of the secret, so Clients of different apps (or secrets) share the store
// without colliding, and each evicts only its own keys.
var processTokens = struct {
	once  sync.Once
	store *tokenStore
}{store: &tokenStore{c: gocache.New(2*time.Hour, 10*time.Minute)}}

// NewClient builds the SDK client: its base URL, an HTTP client with the per-call
// timeout, the shared go-cache token store and a Warn-level slog adapter. The SDK's
// request dump (WithLogReqAtDebug) stays off: it would print the app secret and tokens.
func NewClient(cfg ClientConfig) *Client {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	opts := []lark.ClientOptionFunc{
		lark.WithOpenBaseUrl(strings.TrimRight(cfg.BaseURL, "/")),
		lark.WithHttpClient(statusDoer{c: &http.Client{Timeout: cfg.Timeout}, meter: cfg.Meter}),
		lark.WithLogLevel(larkcore.LogLevelWarn),
		lark.WithLogger(slogAdapter{log: log, secret: cfg.AppSecret}),
	}
	c := &Client{
		tokens:    processTokens.store,
		appID:     cfg.AppID,
		secret:    cfg.AppSecret,
		log:       log,
		metrics:   cfg.Metrics,
		meter:     cfg.Meter,
		chatNames: gocache.New(chatNameTTL, 0),
		msgRetry:  RetryPolicy{Attempts: 3, BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second},
		sleep:     clock.Sleep,
	}
	processTokens.once.Do(func() {
		c.lark = lark.NewClient(cfg.AppID, cfg.AppSecret, append(opts, lark.WithTokenCache(processTokens.store))...)
	})
	if c.lark == nil {
		c.lark = lark.NewClient(cfg.AppID, cfg.AppSecret, opts...)
	}
	return c
}

// Lark is the underlying SDK client, for calls this package does not wrap. Run them
// through Do and Classify so they get the same retries and error verdicts.
func (c *Client) Lark() *lark.Client { return c.lark }

// evictTokens drops this app's cached access tokens so the next call fetches new ones;
// the SDK's own retry on a token-invalid code resends the cached (stale) token.
func (c *Client) evictTokens() int {
	fp := sha256.Sum256([]byte(c.secret))
	suffix := ":app_secret:" + c.appID + ":" + hex.EncodeToString(fp[:])
	return c.tokens.deletePrefixes("tenant_access_token"+suffix, "app_access_token"+suffix)
}

// tokenStore is the SDK token cache (larkcore.Cache) backed by go-cache.
type tokenStore struct{ c *gocache.Cache }

// Set stores a token. The SDK passes expire-3min as ttl; a fake or odd server may give
// ttl <= 0, which go-cache would read as "default" or "never expires", pinning a token.
func (s *tokenStore) Set(_ context.Context, key, value string, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	s.c.Set(key, value, ttl)
	return nil
}

// Get returns the cached token; "" tells the SDK to fetch a new one.
func (s *tokenStore) Get(_ context.Context, key string) (string, error) {
	if v, ok := s.c.Get(key); ok {
		if str, ok := v.(string); ok {
			return str, nil
		}
	}
	return "", nil
}

func (s *tokenStore) deletePrefixes(prefixes ...string) int {
	n := 0
	for k := range s.c.Items() {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				s.c.Delete(k)
				n++
				break
			}
		}
	}
	return n
}

// slogAdapter is the SDK's larkcore.Logger on top of slog. Only Warn and Error get
// through: the SDK's Debug and Info lines carry request details nobody needs in
// production. The app secret is masked in case an SDK message ever echoes it.
type slogAdapter struct {
	log    *slog.Logger
	secret string
}

func (a slogAdapter) Debug(context.Context, ...interface{}) {}
func (a slogAdapter) Info(context.Context, ...interface{})  {}
func (a slogAdapter) Warn(ctx context.Context, args ...interface{}) {
	a.log.WarnContext(ctx, a.text(args), "source", "feishu-sdk")
}
func (a slogAdapter) Error(ctx context.Context, args ...interface{}) {
	a.log.ErrorContext(ctx, a.text(args), "source", "feishu-sdk")
}

func (a slogAdapter) text(args []interface{}) string {
	s := fmt.Sprint(args...)
	if a.secret != "" {
		s = strings.ReplaceAll(s, a.secret, "<redacted>")
	}
	return s
}

// statusDoer is the SDK's HTTP client. It turns an error status whose body is not JSON
// (a gateway's HTML 502, a proxy's bare 429) into a *statusError: the SDK would report
// such a response as "content-type not json" without its status, and a 502 could not be
// told from a malformed answer. Every SDK call passes here, so it is also where the
// calls Feishu answered with success are metered.
type statusDoer struct {
	c     *http.Client
	meter *usage.Meter
}

// Do sends the request.
func (d statusDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 400 {
		return d.metered(req, resp)
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		return resp, nil
	}
	// Drain a little so the connection can be reused; the body itself says nothing useful.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return nil, &statusError{status: resp.StatusCode, header: resp.Header}
}

// statusError is an HTTP error status without a Feishu JSON body.
type statusError struct {
	status int
	header http.Header
}

func (e *statusError) Error() string {
	return fmt.Sprintf("http %d %s", e.status, http.StatusText(e.status))
}
