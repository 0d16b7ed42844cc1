package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"acsbot/acs"
	"acsbot/config"
	"acsbot/feishufake"
)

// appID is the fake tenant's app; the secrets are fresh for every run.
const appID = "cli_load00000001"

// platform is the fake Feishu open platform on 127.0.0.1, with the people and chats
// of the tenant the load comes from.
type platform struct {
	fake     *feishufake.Server
	srv      *httptest.Server
	replies  *replyCounter
	pop      population
	delivery string // config.DeliveryWebhook or config.DeliveryWebSocket
	secret   string // the app secret; never printed
}

// population is who talks to the bot: admins in their direct chats, and any
// directory user in the reader group chats.
type population struct {
	users  []acs.User
	admins []string // open ids
	groups []string // reader chat ids
}

// adminCount and groupCount size the tenant: enough distinct chats and senders that
// no single one dominates the load, and that the highest rates tried stay inside
// Feishu's 5 messages a second to one chat (1,000/s over 700 chats is about 1.5 a
// chat), which the bot keeps to and the fake enforces.
const (
	adminCount = 200
	groupCount = 500
)

// newPlatform starts the fake with users ACS users whose list pages each take
// pageLatency, delivering events by delivery (config.DeliveryWebhook or
// config.DeliveryWebSocket).
func newPlatform(users int, pageLatency time.Duration, delivery string) *platform {
	secret := randomSecret()
	o := feishufake.Options{AppID: appID, AppSecret: secret}
	if delivery == config.DeliveryWebhook {
		o.VerificationToken, o.EncryptKey = randomSecret(), randomSecret()
	}
	// The long connection keeps Feishu's timings (ping every 120 s, a push not
	// acked within 15 s pushed again): a load run lasts less than a ping interval,
	// and an ack that late is counted with its real latency, as Feishu would see it.
	fake := feishufake.NewHandler(o)
	pop := population{users: feishufake.GenerateUsers(users, 1)}
	fake.SetUsers(pop.users)
	fake.SetPageLatency(pageLatency)
	for i := range min(adminCount, len(pop.users)) {
		pop.admins = append(pop.admins, pop.users[i].ID)
	}
	for i := range groupCount {
		id := fmt.Sprintf("oc_%032x", 0x6000+i)
		pop.groups = append(pop.groups, id)
		fake.SetChat(id, fmt.Sprintf("Facility team %d", i+1))
	}
	rc := newReplyCounter()
	return &platform{fake: fake, srv: httptest.NewServer(rc.wrap(fake.Handler())), replies: rc, pop: pop, delivery: delivery, secret: secret}
}

func (p *platform) Close() {
	p.fake.Close()
	p.srv.Close()
}

// writeConfig writes the bot's config into dir, with its store there too, and
// returns the config's path and the environment that carries the secrets.
func (p *platform) writeConfig(dir string) (path string, env []string, err error) {
	quoted := func(ids []string) string { return `["` + strings.Join(ids, `", "`) + `"]` }
	yaml := fmt.Sprintf(`server: {addr: "127.0.0.1:0"}
feishu: {app_id: %s, delivery: %s, base_url: %q}
acs: {user_id_type: open_id, cache_ttl: 10m}
bot: {language: zh_cn}
access: {admins: %s, chats: %s}
store: {path: %q}
push: {timezone: Asia/Shanghai}
`, appID, p.delivery, p.srv.URL, quoted(p.pop.admins), quoted(p.pop.groups), filepath.Join(dir, "acsbot.db"))
	path = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return "", nil, fmt.Errorf("write bot config: %w", err)
	}
	env = []string{"ACSBOT_FEISHU_APP_SECRET=" + p.secret}
	if p.delivery == config.DeliveryWebhook {
		o := p.fake.Options()
		env = append(env, "ACSBOT_FEISHU_VERIFICATION_TOKEN="+o.VerificationToken, "ACSBOT_FEISHU_ENCRYPT_KEY="+o.EncryptKey)
	}
	return path, env, nil
}

// prepare readies d for sending: the webhook's are signed and encrypted now; the
// long connection pushes the event as it is.
func (p *platform) prepare(ctx context.Context, d delivery) (delivery, error) {
	if p.delivery == config.DeliveryWebhook {
		return sign(ctx, p.fake, d)
	}
	return d, nil
}

func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// replyCounter counts the reply calls the fake accepted, by the message replied to.
// It counts calls, not recorded messages: the fake, like Feishu, folds a second
// reply with the same uuid into the first, which would hide a bot that answers a
// re-delivered command twice.
type replyCounter struct {
	mu    sync.Mutex
	calls map[string]int
	last  time.Time // when the latest accepted reply was answered
}

func newReplyCounter() *replyCounter {
	return &replyCounter{calls: map[string]int{}}
}

const (
	messagesPath = "/open-apis/im/v1/messages/"
	replySuffix  = "/reply"
)

// wrap counts the reply calls h answers with 200.
func (c *replyCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parent, isReply := strings.CutPrefix(r.URL.Path, messagesPath)
		parent, hasSuffix := strings.CutSuffix(parent, replySuffix)
		if r.Method != http.MethodPost || !isReply || !hasSuffix {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == http.StatusOK {
			c.add(parent)
		}
	})
}

func (c *replyCounter) add(parent string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[parent]++
	c.last = time.Now()
}

// count reports how many of the given messages got a reply, how many got more than
// one, and when the latest reply came.
func (c *replyCounter) count(ids []string) (answered, doubled int, last time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		switch n := c.calls[id]; {
		case n > 1:
			doubled++
			answered++
		case n == 1:
			answered++
		}
	}
	return answered, doubled, c.last
}

// statusWriter keeps the status of an answer. The fake writes every answer's status
// explicitly, so an answer without one is not counted.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}
