package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"acsbot/config"
)

func TestReplyCounterCountsAcceptedReplyCalls(t *testing.T) {
	c := newReplyCounter()
	h := c.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "om_refused") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK) // the fake always writes its status
	}))
	calls := []struct{ method, path string }{
		{"POST", "/open-apis/im/v1/messages/om_a/reply"},
		{"POST", "/open-apis/im/v1/messages/om_b/reply"},
		{"POST", "/open-apis/im/v1/messages/om_b/reply"}, // the same command answered twice
		{"POST", "/open-apis/im/v1/messages/om_refused/reply"},
		{"PATCH", "/open-apis/im/v1/messages/om_c"},
		{"POST", "/open-apis/im/v1/messages"},
		{"GET", "/open-apis/im/v1/messages/om_d/reply"},
	}
	for _, call := range calls {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(call.method, call.path, nil))
	}
	answered, doubled, last := c.count([]string{"om_a", "om_b", "om_c", "om_d", "om_refused", "om_never"})
	if answered != 2 || doubled != 1 || last.IsZero() {
		t.Errorf("answered %d, doubled %d, last %v; want 2, 1, set", answered, doubled, last)
	}
}

// The config the load gives the bot passes the bot's own validation, with the
// secrets from the environment and every admin and reader chat in it; over the long
// connection it carries only the app secret, which is all that way in needs.
func TestWriteConfigIsValid(t *testing.T) {
	for _, delivery := range []string{config.DeliveryWebhook, config.DeliveryWebSocket} {
		t.Run(delivery, func(t *testing.T) {
			p := newPlatform(30, 0, delivery)
			defer p.Close()
			path, env, err := p.writeConfig(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = v
			}
			cfg, err := config.Load(path, func(k string) string { return vars[k] })
			if err != nil {
				t.Fatalf("the bot would refuse the config: %v", err)
			}
			o := p.fake.Options()
			if cfg.Feishu.Delivery != delivery || cfg.Feishu.AppSecret.Value() != o.AppSecret ||
				cfg.Feishu.EncryptKey.Value() != o.EncryptKey || cfg.Feishu.VerificationToken.Value() != o.VerificationToken {
				t.Errorf("delivery %s, or the secrets in the environment are not the fake's", cfg.Feishu.Delivery)
			}
			if delivery == config.DeliveryWebSocket && len(env) != 1 {
				t.Errorf("the long connection got %d secrets, want the app secret alone", len(env))
			}
			if cfg.Feishu.BaseURL != p.srv.URL || filepath.Dir(cfg.Store.Path) != filepath.Dir(path) {
				t.Errorf("base_url %s, store %s: want the fake and the temp dir", cfg.Feishu.BaseURL, cfg.Store.Path)
			}
			for _, a := range p.pop.admins {
				if !cfg.IsAdmin(a) {
					t.Errorf("%s is not an admin", a)
				}
			}
			for _, g := range p.pop.groups {
				if !cfg.IsReaderChat(g) {
					t.Errorf("%s is not a reader chat", g)
				}
			}
			if raw, _ := os.ReadFile(path); strings.Contains(string(raw), o.AppSecret) {
				t.Error("the config file holds the app secret; it belongs in the environment")
			}
		})
	}
}
