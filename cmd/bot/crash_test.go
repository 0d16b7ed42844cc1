package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the store's driver, for the read-only integrity check

	"acsbot/acs"
	"acsbot/bottest"
	"acsbot/clock"
	"acsbot/feishufake"
	"acsbot/store"
)

// The crash test's size. Kills come 50-500 ms after the bot is ready while events
// flow, so the run takes about 15-25 s; the figures of one run are in
// docs/reliability-crash.md.
const (
	crashKills    = 20                    // at least this many SIGKILLs (half over the long connection)
	crashCommands = 150                   // chat messages scripted; more follow until the last kill
	crashUsers    = 120                   // people in the ACS directory
	crashFeed     = 50 * time.Millisecond // one new message every
	crashWorkers  = 4                     // deliveries in flight at once
	crashDupRate  = 0.1                   // share of messages Feishu delivers twice
	// tiredAt is how many starts of one job the test lets kills cut short. The bot
	// gives a job up at its sixth start, by design: a guard against an event that
	// crashes it every time. Kills that are not the job's doing must not make it
	// look like one, so a job cut short this often is let finish before the next.
	tiredAt = 4
)

// The tenant of the crash test.
const (
	crashAppID    = "cli_crash0000000001"
	crashToken    = "vt-crash-test"
	crashKey      = "ek-crash-test"
	crashAdmin    = "ou_crashadmin000000000000000000001"
	crashAdmin2   = "ou_crashadmin000000000000000000002"
	summaryChat   = "oc_crashsummary00000000000000000001"
	adminP2PChat  = "oc_crashadminp2p000000000000000001"
	resultTitleZH = "提醒已发送" // the reminder round's result card, bot.language zh_cn
)

var readerChats = []string{"oc_crashreaders0000000000000000001", "oc_crashreaders0000000000000000002", "oc_crashreaders0000000000000000003"}

// Kill the real binary with SIGKILL at random moments while Feishu (the test) pushes
// signed, encrypted events and re-delivers every one that did not get a 200; restart
// it each time. At the end every command has exactly one reply, the subscribed chat
// exactly one daily summary, everyone without a face photo exactly one reminder, and
// the SQLite file passed an integrity check after every kill.
//
// ACSBOT_CRASH_SEED=n replays a run's choices (the timing of a real process is not
// replayable, so a replay hits similar, not identical, moments).
func TestCrashRestartAnswersEveryCommandOnce(t *testing.T) { crashRestart(t, false) }

// The same over the long connection: events and clicks are pushed as frames, and an
// event whose ack a kill cut off is pushed again once the bot has reconnected.
func TestCrashRestartLongConnection(t *testing.T) { crashRestart(t, true) }

func crashRestart(t *testing.T, ws bool) {
	if testing.Short() {
		t.Skip("runs the bot binary through 20 crashes")
	}
	// Most of a run is waiting (for starts, kills, the feed), so the two modes share
	// the wall clock.
	t.Parallel()
	began := time.Now()
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 0xc4a5))
	users := feishufake.GenerateUsers(crashUsers, seed)
	fs := newFeishuSide(t, users, ws)
	bot := newBotProcess(t, fs)
	sc := newScript(rng, fs.fake, users, bot.loc)
	fd := newFeeder(t, fs.fake, bot.url, seed, ws)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	fed, enough := make(chan struct{}), make(chan struct{})
	go func() { defer close(fed); fd.run(ctx, sc, enough) }()
	// The long connection's run repeats what the webhook's proves, through another
	// way in: half the kills keep the suite's time down.
	target := crashKills
	if ws {
		target = crashKills / 2
	}
	ch := chaos{t: t, rng: rng, fs: fs, bot: bot, fd: fd, sc: sc, target: target}
	ch.run(ctx, fed, enough)
	<-fed
	if ctx.Err() != nil {
		t.Fatalf("events still undelivered after %v", time.Since(began))
	}
	waitSettled(t, fs.fake, sc)
	waitDrained(t, bot.db)
	ch.deduped += bot.deduped()
	bot.stop()
	ch.check("after the final stop")

	o := outcomeOf(fs, sc)
	checkOutcome(t, o, sc, fd)
	checkStore(t, bot.db)
	bot.checkLog()
	logFigures(t, ch, bot, fd, sc, o, time.Since(began))
}

// logFigures logs the run's figures, the ones docs/reliability-crash.md shows.
func logFigures(t *testing.T, ch chaos, bot *botProcess, fd *feeder, sc *script, o outcome, took time.Duration) {
	t.Logf("kills: %d (%d trapped on a send: %d replies, %d summaries, %d reminders; %d after tired jobs finished); starts: %d, %v from exec to healthy on average",
		ch.kills, ch.trapped["r-"]+ch.trapped["ds-"]+ch.trapped["rmd-"], ch.trapped["r-"], ch.trapped["ds-"], ch.trapped["rmd-"], ch.calm,
		bot.starts, (bot.startTime / time.Duration(bot.starts)).Round(time.Millisecond))
	t.Logf("events: %d messages (%d to answer) + %d page clicks; %d deliveries: %d re-deliveries after no 200 (%d refused while down or cut by a kill), %d deliberate duplicates",
		len(sc.commands), sc.answered(), len(sc.clicks), fd.deliveries.Load(), fd.retries.Load(), fd.transportErrs.Load(), fd.dups.Load())
	t.Logf("repeats stopped by the bot's inbox: %d re-deliveries acknowledged and ignored", ch.deduped)
	t.Logf("repeats absorbed by Feishu's uuid: %d (sends reaching Feishu: %d replies for %d, %d summaries for 1, %d reminders for %d)",
		o.absorbed, o.rawReplies, sc.answered(), o.rawSummaries, o.rawReminders, len(sc.noFace))
	t.Logf("integrity checks: %d, all ok; took %v", ch.checks, took.Round(100*time.Millisecond))
}

func crashSeed(t *testing.T) int64 {
	seed := time.Now().UnixNano()
	if s := os.Getenv("ACSBOT_CRASH_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("ACSBOT_CRASH_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with ACSBOT_CRASH_SEED=%d)", seed, seed)
	return seed
}

// feishuSide is the fake open platform behind a front that counts every message
// send reaching Feishu (the fake keeps only the first per uuid, as Feishu does) and
// can hold a send's answer while the bot is killed: the kill then falls exactly
// between Feishu taking the message and the bot recording that it went.
type feishuSide struct {
	fake *feishufake.Server
	srv  *httptest.Server
	ws   bool // events go over the long connection

	mu       sync.Mutex
	attempts map[string]int  // uuid -> sends that reached the fake
	trapped  map[string]bool // uuids whose answer was held for a kill
	trap     string          // the uuid prefix of the sends a kill lies in wait for; "": none
	hits     chan trapHit
}

type trapHit struct {
	prefix  string
	release chan struct{} // closed once the bot is dead
}

// wsCrashTimings reconnect the bot's long connection at once and keep a push
// waiting for its ack no longer than a kill lasts.
var wsCrashTimings = feishufake.WSClientConfig{ReconnectCount: -1, ReconnectInterval: 1, ReconnectNonce: 0, PingInterval: 1}

// newFeishuSide starts the platform; ws makes it the bot's way in too.
func newFeishuSide(t *testing.T, users []acs.User, ws bool) *feishuSide {
	o := feishufake.Options{
		AppID: crashAppID, AppSecret: bottest.Secret(t),
		VerificationToken: crashToken, EncryptKey: crashKey,
	}
	if ws {
		timings := wsCrashTimings
		o.WS, o.WSRepushAfter, o.EncryptKey = &timings, 300*time.Millisecond, ""
	}
	fake := feishufake.NewHandler(o)
	fake.SetUsers(users)
	fake.SetChat(summaryChat, "Daily summary")
	for i, c := range readerChats {
		fake.SetChat(c, fmt.Sprintf("Facility team %d", i+1))
	}
	fs := &feishuSide{fake: fake, ws: ws, attempts: map[string]int{}, trapped: map[string]bool{}, hits: make(chan trapHit, 1)}
	fs.srv = httptest.NewServer(fs)
	t.Cleanup(func() { fs.srv.Close(); fake.Close() })
	return fs
}

// ServeHTTP passes every call to the fake; a message send is counted, and held if
// a trap is armed for it.
func (fs *feishuSide) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uuid, ok := sendUUID(r)
	if !ok {
		fs.fake.Handler().ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	fs.fake.Handler().ServeHTTP(rec, r)
	fs.mu.Lock()
	fs.attempts[uuid]++
	fs.mu.Unlock()
	fs.hold(uuid)
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// sendUUID reads the uuid of a message create or reply call, leaving the body for
// the fake.
func sendUUID(r *http.Request) (string, bool) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/open-apis/im/v1/messages") {
		return "", false
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var b struct{ UUID string }
	if err != nil || json.Unmarshal(body, &b) != nil || b.UUID == "" {
		return "", false
	}
	return b.UUID, true
}

// hold keeps the answer to a send the armed trap matches until the chaos loop has
// killed the bot. Each uuid is trapped once: a reply killed at every resend would
// reach the bot's attempt limit, which is the poison guard, not a crash.
func (fs *feishuSide) hold(uuid string) {
	hit, ok := fs.catch(uuid)
	if !ok {
		return
	}
	select {
	case <-hit.release:
	case <-time.After(30 * time.Second):
	}
}

// catch hands a send the armed trap matches to the chaos loop, one per kill. It
// runs under the lock arm takes, so no send is caught once the trap is disarmed.
func (fs *feishuSide) catch(uuid string) (trapHit, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.trap == "" || fs.trapped[uuid] || !strings.HasPrefix(uuid, fs.trap) {
		return trapHit{}, false
	}
	hit := trapHit{prefix: fs.trap, release: make(chan struct{})}
	select {
	case fs.hits <- hit:
		fs.trapped[uuid] = true
		return hit, true
	default: // another send was caught for this kill
		return trapHit{}, false
	}
}

// arm lays the trap for sends whose uuid starts with prefix; "" disarms it.
func (fs *feishuSide) arm(prefix string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.trap = prefix
}

// rawSends counts the sends that reached the fake, for uuids with prefix.
func (fs *feishuSide) rawSends(prefix string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := 0
	for u, c := range fs.attempts {
		if strings.HasPrefix(u, prefix) {
			n += c
		}
	}
	return n
}

// botProcess runs the real binary, built once, on one address and one store file
// across restarts.
type botProcess struct {
	t       *testing.T
	bin     string
	cfgPath string
	db      string
	addr    string
	url     string
	loc     *time.Location // push.timezone
	env     []string
	logs    syncBuffer
	cmd     *exec.Cmd
	exited  chan struct{}
	starts  int
	// startTime is the time from exec to a healthy bot, summed over the starts.
	startTime time.Duration
}

func newBotProcess(t *testing.T, fs *feishuSide) *botProcess {
	dir := t.TempDir()
	b := &botProcess{t: t, bin: buildBot(t), cfgPath: filepath.Join(dir, "config.yaml"), db: filepath.Join(dir, "acsbot.db"), addr: freeAddr(t)}
	b.url = "http://" + b.addr
	zone, loc := noonZone(t)
	b.loc = loc
	delivery := "webhook"
	if fs.ws {
		delivery = "websocket"
	}
	cfg := bottest.Tenant{AppID: crashAppID, Delivery: delivery, BaseURL: fs.srv.URL, Admins: []string{crashAdmin, crashAdmin2},
		Chats: readerChats, StorePath: b.db, Zone: zone}.YAML()
	if err := os.WriteFile(b.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	b.env = append(os.Environ(),
		"ACSBOT_FEISHU_APP_SECRET="+fs.fake.Options().AppSecret,
		"ACSBOT_FEISHU_VERIFICATION_TOKEN="+crashToken,
		"ACSBOT_FEISHU_ENCRYPT_KEY="+crashKey)
	seedSubscription(t, b.db, loc)
	t.Cleanup(func() {
		b.killIfRunning()
		if t.Failed() {
			t.Logf("the bot's log:\n%s", b.logs.String())
		}
	})
	return b
}

// seedSubscription subscribes the summary chat as of yesterday, for three hours
// from now: nothing is due until an admin moves the time to this minute from chat
// (re-subscribing keeps the creation time), and then it is due at once.
func seedSubscription(t *testing.T, path string, loc *time.Location) {
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	if err := st.Subscribe(context.Background(), summaryChat, now.Add(3*time.Hour).In(loc).Format("15:04"), crashAdmin, now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// buildBot builds ./cmd/bot once per test run, with -race when the test binary has
// it: then every package is already compiled in the build cache.
func buildBot(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "acsbot")
	args := []string{"build", "-o", bin}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// start runs the binary and waits until /healthz answers 200.
func (b *botProcess) start() {
	b.t.Helper()
	began := time.Now()
	defer func() { b.startTime += time.Since(began) }()
	b.starts++
	fmt.Fprintf(&b.logs, "=== start %d\n", b.starts)
	cmd := exec.Command(b.bin, "-config", b.cfgPath, "-addr", b.addr)
	cmd.Env = b.env
	cmd.Stdout, cmd.Stderr = &b.logs, &b.logs
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start the bot: %v", err)
	}
	b.cmd, b.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(b.exited)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case <-b.exited:
			b.t.Fatalf("the bot exited at start %d", b.starts)
		default:
		}
		if resp, err := http.Get(b.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the bot was not healthy within 20 s of start %d", b.starts)
		}
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (b *botProcess) kill() {
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
	b.cmd = nil
	fmt.Fprintf(&b.logs, "=== killed\n")
}

func (b *botProcess) killIfRunning() {
	if b.cmd != nil {
		b.kill()
	}
}

// stop ends the last run as an operator would, with SIGTERM, which must exit 0.
func (b *botProcess) stop() {
	b.t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(30 * time.Second):
		b.t.Fatalf("the bot did not stop within 30 s of SIGTERM")
	}
	if code := b.cmd.ProcessState.ExitCode(); code != 0 {
		b.t.Errorf("exit code %d after SIGTERM", code)
	}
	b.cmd = nil
}

// deduped reads how many re-deliveries this run of the bot acknowledged and ignored.
func (b *botProcess) deduped() int {
	resp, err := http.Get(b.url + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "acsbot_events_deduped_total "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// checkLog fails on what a crash must never cause in any run of the bot: a data
// race (with -race), a panic, a job given up.
func (b *botProcess) checkLog() {
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "giving up on event"} {
		if strings.Contains(b.logs.String(), bad) {
			b.t.Errorf("the bot's log has %q", bad)
		}
	}
}

// script is what users do during the run: chat messages with the number of replies
// each must get, page button clicks, and an admin's subscribe and reminder round.
type script struct {
	commands  []scripted
	clicks    []feishufake.Envelope
	subscribe string // message id of the admin's /subscribe
	remind    string // message id of the admin's /remind noface
	noFace    []string
	fake      *feishufake.Server
	users     []acs.User
}

type scripted struct {
	ev      feishufake.Envelope
	id      string
	text    string
	replies int // 1, or 0 for group chatter that does not mention the bot
}

// answered counts the commands that must get a reply.
func (sc *script) answered() int {
	n := 0
	for _, c := range sc.commands {
		n += c.replies
	}
	return n
}

// The people of the crash test's tenant besides the admins.
func readerOf(rng *rand.Rand) string   { return fmt.Sprintf("ou_crashreader%020d", rng.IntN(12)) }
func outsiderOf(rng *rand.Rand) string { return fmt.Sprintf("ou_crashoutsider%018d", rng.IntN(6)) }

func randomID(rng *rand.Rand, prefix string) string {
	return fmt.Sprintf("%s%016x%016x", prefix, rng.Uint64(), rng.Uint64())
}

// noonZone is an Etc/GMT zone where it is about noon, for push.timezone: the
// test's local day cannot end mid-run.
func noonZone(t *testing.T) (string, *time.Location) {
	off := (12 - time.Now().UTC().Hour() + 24) % 24
	if off > 12 {
		off -= 24
	}
	name := fmt.Sprintf("Etc/GMT%+d", -off) // POSIX sign: Etc/GMT-8 is UTC+8
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return name, loc
}

// newScript writes the first crashCommands messages, the admin's among them, and
// the page clicks; the feeder adds messages while the bot is still to be killed.
func newScript(rng *rand.Rand, fake *feishufake.Server, users []acs.User, loc *time.Location) *script {
	sc := &script{fake: fake, users: users}
	for _, u := range users {
		if !u.FaceUploaded {
			sc.noFace = append(sc.noFace, u.ID)
		}
	}
	for i := range crashCommands {
		m, replies := randomMessage(rng, users)
		switch i {
		case crashCommands / 5:
			// Move the summary to this minute: it is due at once.
			m, replies = feishufake.UserMessage{ChatID: summaryChat, ChatType: "group", SenderOpenID: crashAdmin,
				Text: "/subscribe " + time.Now().In(loc).Format("15:04"), MentionBot: true}, 1
		case crashCommands / 4:
			m, replies = feishufake.UserMessage{ChatID: adminP2PChat, ChatType: "p2p", SenderOpenID: crashAdmin, Text: "/remind noface"}, 1
		}
		id := sc.add(rng, m, replies)
		switch i {
		case crashCommands / 5:
			sc.subscribe = id
		case crashCommands / 4:
			sc.remind = id
		}
	}
	for range 8 {
		sc.clicks = append(sc.clicks, fake.CardActionEvent(feishufake.CardAction{
			OperatorOpenID: readerOf(rng), MessageID: randomID(rng, "om_"), ChatID: readerChats[0],
			Value: map[string]any{"a": "page", "q": "noface", "p": 1},
		}))
	}
	return sc
}

// add appends a message to the script and returns its id.
func (sc *script) add(rng *rand.Rand, m feishufake.UserMessage, replies int) string {
	m.MessageID = randomID(rng, "om_")
	sc.commands = append(sc.commands, scripted{ev: sc.fake.MessageEvent(m), id: m.MessageID, text: m.Text, replies: replies})
	return m.MessageID
}

// randomMessage is a chat message from one of many people in one of many chats,
// and the number of replies it must get.
func randomMessage(rng *rand.Rand, users []acs.User) (feishufake.UserMessage, int) {
	someone := users[rng.IntN(len(users))]
	pick := func(texts ...string) string { return texts[rng.IntN(len(texts))] }
	switch p := rng.Float64(); {
	case p < 0.55:
		return feishufake.UserMessage{ChatID: readerChats[rng.IntN(len(readerChats))], ChatType: "group", SenderOpenID: readerOf(rng), MentionBot: true,
			Text: pick("/noface", "/stats", "/nocard", "help", "统计", "谁没有人脸", "what can you do", "/user "+someone.ID)}, 1
	case p < 0.65: // group chatter for someone else: no reply
		return feishufake.UserMessage{ChatID: readerChats[rng.IntN(len(readerChats))], ChatType: "group", SenderOpenID: readerOf(rng),
			Text: pick("lunch?", "/stats", "the door on 3F sticks")}, 0
	case p < 0.85:
		who := outsiderOf(rng)
		return feishufake.UserMessage{ChatID: "oc_p2p" + strings.TrimPrefix(who, "ou_"), ChatType: "p2p", SenderOpenID: who,
			Text: pick("/noface", "help", "hello there", "/stats")}, 1
	default:
		return feishufake.UserMessage{ChatID: "oc_crashadmin2p2p00000000000000002", ChatType: "p2p", SenderOpenID: crashAdmin2,
			Text: pick("/stats", "/noface", "/nocard", "/user "+someone.ID, fmt.Sprintf("/card %d", max(someone.Card, 1)))}, 1
	}
}

// feeder plays Feishu: it pushes each event to the bot and re-delivers it until it
// gets a 200 (after 20-60 ms instead of Feishu's 15 s), delivers some a second
// time anyway, and plays the admin who clicks Send on the reminder confirm card.
type feeder struct {
	fake   *feishufake.Server
	ws     bool // push over the long connection instead of posting to url
	url    string
	client *http.Client
	seed   int64

	deliveries, retries, dups, transportErrs atomic.Int64
	roundStarted                             atomic.Bool

	mu       sync.Mutex
	problems []string // answers Feishu must never get: a 4xx/5xx, a click with no card or toast
}

func newFeeder(t *testing.T, fake *feishufake.Server, url string, seed int64, ws bool) *feeder {
	fd := &feeder{fake: fake, ws: ws, url: url, seed: seed, client: &http.Client{Timeout: 10 * time.Second}}
	t.Cleanup(fd.client.CloseIdleConnections)
	return fd
}

type pushJob struct {
	ev    feishufake.Envelope
	path  string
	click bool
}

// run feeds the script's messages at a steady pace through a few workers, with
// the page clicks spread among them, while the admin's reminder click waits for
// its confirm card. It goes on with more messages until enough is closed, so the
// kills fall while events flow, and returns once every event got its 200.
func (fd *feeder) run(ctx context.Context, sc *script, enough <-chan struct{}) {
	jobs := make(chan pushJob)
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(fd.seed), uint64(w)))
			for j := range jobs {
				fd.push(ctx, rng, j)
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); fd.clickSend(ctx, sc) }()
	more := rand.New(rand.NewPCG(uint64(fd.seed), crashWorkers))
	tick := time.NewTicker(crashFeed)
	defer tick.Stop()
	every := crashCommands / (len(sc.clicks) + 1)
	for i := 0; ctx.Err() == nil && (i < len(sc.commands) || !isClosed(enough)); i++ {
		if i == len(sc.commands) {
			m, replies := randomMessage(more, sc.users)
			sc.add(more, m, replies)
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		jobs <- pushJob{ev: sc.commands[i].ev, path: "/webhook/event"}
		if k := i/every - 1; i%every == 0 && k >= 0 && k < len(sc.clicks) {
			jobs <- pushJob{ev: sc.clicks[k], path: "/webhook/card", click: true}
		}
	}
	close(jobs)
	wg.Wait()
}

// push delivers an event until it gets a 200, as Feishu does, and sometimes once
// more after that, as Feishu also does.
func (fd *feeder) push(ctx context.Context, rng *rand.Rand, j pushJob) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			fd.retries.Add(1)
			_ = clock.Sleep(ctx, time.Duration(20+rng.IntN(40))*time.Millisecond)
		}
		body, ok := fd.deliver(ctx, j)
		if !ok {
			continue
		}
		if j.click {
			fd.checkClick(body)
		}
		if !j.click && rng.Float64() < crashDupRate {
			fd.dups.Add(1)
			fd.deliver(ctx, j)
		}
		return
	}
}

// deliver posts or pushes one delivery and reports whether it got a 200, with the
// answer.
func (fd *feeder) deliver(ctx context.Context, j pushJob) ([]byte, bool) {
	fd.deliveries.Add(1)
	if fd.ws {
		return fd.pushFrame(ctx, j)
	}
	req, err := fd.fake.NewRequest(ctx, fd.url+j.path, j.ev)
	if err != nil {
		fd.problem("build request: %v", err)
		return nil, false
	}
	resp, err := fd.client.Do(req)
	if err != nil { // the bot is down, or was killed while it read or answered
		fd.transportErrs.Add(1)
		return nil, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fd.transportErrs.Add(1)
		return nil, false
	}
	if resp.StatusCode != http.StatusOK {
		fd.problem("%s answered %d: %s", j.path, resp.StatusCode, body)
		return nil, false
	}
	return body, true
}

// pushFrame pushes one delivery over the long connection, once: the feeder, like
// Feishu, pushes again what got no ack.
func (fd *feeder) pushFrame(ctx context.Context, j pushJob) ([]byte, bool) {
	payload, err := json.Marshal(j.ev)
	if err != nil {
		fd.problem("encode event: %v", err)
		return nil, false
	}
	ack, err := fd.fake.PushRaw(ctx, payload)
	if err != nil { // no connection, or the ack was lost with a killed bot
		fd.transportErrs.Add(1)
		return nil, false
	}
	if ack.Code != http.StatusOK {
		fd.problem("%s acked %d: %s", j.path, ack.Code, ack.Data)
		return nil, false
	}
	return ack.Data, true
}

// checkClick requires a page click's answer to carry a card (the page) or a
// toast (the directory is still loading after a restart).
func (fd *feeder) checkClick(body []byte) {
	var a map[string]json.RawMessage
	if json.Unmarshal(body, &a) != nil || (a["card"] == nil && a["toast"] == nil) {
		fd.problem("a page click got neither card nor toast: %s", body)
	}
}

func (fd *feeder) problem(format string, args ...any) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	fd.problems = append(fd.problems, fmt.Sprintf(format, args...))
}

// clickSend waits for the confirm card the admin's /remind gets, and clicks Send
// until a click is answered: Feishu never re-delivers a card callback, the admin
// clicks again. Each click is a new callback.
func (fd *feeder) clickSend(ctx context.Context, sc *script) {
	card, ok := waitReply(ctx, fd.fake, sc.remind)
	if !ok {
		return
	}
	send := sendButton(card.Content)
	if send == nil {
		fd.problem("the confirm card has no Send button: %s", card.Content)
		return
	}
	for ctx.Err() == nil {
		ev := fd.fake.CardActionEvent(feishufake.CardAction{OperatorOpenID: crashAdmin, MessageID: card.ID, ChatID: adminP2PChat, Value: send})
		body, ok := fd.deliver(ctx, pushJob{ev: ev, path: "/webhook/card"})
		var a struct{ Toast struct{ Type string } }
		// "success" starts the round; "info" says an earlier click, whose answer a
		// kill cut off, started it; "error" asks for another click.
		if ok && json.Unmarshal(body, &a) == nil && (a.Toast.Type == "success" || a.Toast.Type == "info") {
			fd.roundStarted.Store(true)
			return
		}
		_ = clock.Sleep(ctx, 50*time.Millisecond)
	}
}

// sendButton is the callback value of a confirm card's Send button.
func sendButton(cardJSON string) map[string]any {
	var found map[string]any
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if val, ok := x["value"].(map[string]any); ok && x["type"] == "callback" && val["a"] == "remind_send" {
				found = val
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var v any
	if json.Unmarshal([]byte(cardJSON), &v) == nil {
		walk(v)
	}
	return found
}

// waitReply waits for the bot's reply to a message.
func waitReply(ctx context.Context, fake *feishufake.Server, messageID string) (feishufake.Message, bool) {
	for ctx.Err() == nil {
		for _, m := range fake.Messages() {
			if m.Kind == "reply" && m.ParentID == messageID {
				return m, true
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, _ = fake.WaitMessages(wctx, len(fake.Messages())+1)
		cancel()
	}
	return feishufake.Message{}, false
}

// chaos kills the bot again and again while events flow, 50-500 ms after each
// start, or the moment a send it lies in wait for reaches Feishu, and checks the
// store after every kill.
type chaos struct {
	t   *testing.T
	rng *rand.Rand
	fs  *feishuSide
	bot *botProcess
	fd  *feeder
	sc  *script

	target                 int // SIGKILLs to deal, at least
	kills, checks, deduped int
	calm                   int            // kills that waited for tired jobs to finish
	trapped                map[string]int // kills trapped on a send, by uuid prefix
}

// run starts the bot and kills it again and again until it has been killed
// target times and every event has been delivered; then it starts it a last
// time and leaves it running.
func (c *chaos) run(ctx context.Context, fed <-chan struct{}, enough chan<- struct{}) {
	c.trapped = map[string]int{}
	stopFeed := sync.OnceFunc(func() { close(enough) })
	defer stopFeed() // also when ctx ends first
	for ctx.Err() == nil && (c.kills < c.target || !isClosed(fed)) {
		tired := c.tired()
		if !tired {
			// Armed before the start: the scheduler's first pass sends at once.
			c.fs.arm(c.trap())
		}
		c.bot.start()
		if tired {
			c.rest(ctx)
		}
		c.killOnce()
		c.check(fmt.Sprintf("after kill %d", c.kills))
		if c.kills >= c.target {
			stopFeed()
		}
	}
	c.bot.start()
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// killOnce waits 50-500 ms, or less if a send the trap lies in wait for comes
// first, and kills the bot.
func (c *chaos) killOnce() {
	timer := time.NewTimer(time.Duration(50+c.rng.IntN(450)) * time.Millisecond)
	defer timer.Stop()
	var hit *trapHit
	select {
	case h := <-c.fs.hits:
		hit = &h
	case <-timer.C:
	}
	c.fs.arm("")
	if hit == nil { // caught as the timer fired
		select {
		case h := <-c.fs.hits:
			hit = &h
		default:
		}
	}
	c.deduped += c.bot.deduped()
	c.bot.kill()
	c.kills++
	if hit != nil {
		c.trapped[hit.prefix]++
		close(hit.release)
	}
}

// trap chooses the sends a kill may be trapped on, one kind at a time so that
// none takes another's turn: the daily summary's first send once it is due, two
// reminders while the round runs, else in a third of the kills a reply.
func (c *chaos) trap() string {
	reply := c.rng.IntN(3) == 0
	switch {
	case c.trapped["ds-"] == 0 && replied(c.fs.fake, c.sc.subscribe) && !summarySent(c.fs.fake):
		return "ds-"
	case c.trapped["rmd-"] < 2 && c.roundRunning():
		return "rmd-"
	case reply:
		return "r-"
	}
	return ""
}

// replied reports whether the bot replied to a message.
func replied(fake *feishufake.Server, messageID string) bool {
	for _, m := range fake.Messages() {
		if m.Kind == "reply" && m.ParentID == messageID {
			return true
		}
	}
	return false
}

func summarySent(fake *feishufake.Server) bool {
	for _, m := range fake.Messages() {
		if strings.HasPrefix(m.UUID, "ds-") {
			return true
		}
	}
	return false
}

// tired reports whether a pending job has been cut short tiredAt times.
func (c *chaos) tired() bool {
	c.t.Helper()
	n, err := countTired(c.bot.db)
	if err != nil {
		c.t.Fatal(err)
	}
	return n > 0
}

// rest waits, with the trap disarmed, until the running bot has finished every
// tired job.
func (c *chaos) rest(ctx context.Context) {
	c.t.Helper()
	c.calm++
	for deadline := time.Now().Add(20 * time.Second); ; _ = clock.Sleep(ctx, 20*time.Millisecond) {
		n, err := countTired(c.bot.db)
		switch {
		case err != nil:
			c.t.Fatal(err)
		case n == 0:
			return
		case time.Now().After(deadline) || ctx.Err() != nil:
			c.t.Fatalf("%d jobs cut short %d times not finished within 20 s", n, tiredAt)
		}
	}
}

func countTired(path string) (int, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRow(`SELECT COUNT(*) FROM events WHERE state = 'pending' AND attempts >= ?`, tiredAt).Scan(&n)
	return n, err
}

func (c *chaos) roundRunning() bool {
	return c.fd.roundStarted.Load() && !roundFinished(c.fs.fake, c.sc)
}

// roundFinished reports whether the reminder confirm card shows the round's result.
func roundFinished(fake *feishufake.Server, sc *script) bool {
	for _, m := range fake.Messages() {
		if m.Kind == "reply" && m.ParentID == sc.remind && strings.Contains(m.Content, resultTitleZH) {
			return true
		}
	}
	return false
}

// check runs SQLite's integrity check on the store, opened read-only.
func (c *chaos) check(when string) {
	c.t.Helper()
	c.checks++
	if err := integrityCheck(c.bot.db); err != nil {
		c.t.Fatalf("store %s: %v", when, err)
	}
}

// openReadOnly opens the store as a bystander would, with the store's driver.
func openReadOnly(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?mode=ro")
}

func integrityCheck(path string) error {
	db, err := openReadOnly(path)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return err
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(lines) != 1 || lines[0] != "ok" {
		return fmt.Errorf("integrity check: %s", strings.Join(lines, "; "))
	}
	return nil
}

// waitSettled waits, bounded, until every command has its reply, the summary went
// out and the reminder round shows its result; the assertions then say what is
// missing, if anything.
func waitSettled(t *testing.T, fake *feishufake.Server, sc *script) {
	// A chat takes 5 messages a second: a third of the commands in one reader chat
	// take 20 s to answer however fast the bot is.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		o := classify(fake.Messages())
		missing := 0
		for _, c := range sc.commands {
			if c.replies > o.replies[c.id] {
				missing++
			}
		}
		if missing == 0 && len(o.summaries) > 0 && roundFinished(fake, sc) {
			return
		}
	}
	t.Log("not settled within 60 s of the last start")
}

// waitDrained waits until the bot has finished every event it recorded. Feishu may
// hold every answer already (sent before a kill, the record left pending) while the
// last start still resends them, paced at Feishu's 5 a second per chat, under the
// same uuids: a stop before that ends would leave them pending.
func waitDrained(t *testing.T, path string) {
	t.Helper()
	db, err := openReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var pending int
		if err := db.QueryRow(`SELECT COUNT(*) FROM events WHERE state = 'pending'`).Scan(&pending); err == nil && pending == 0 {
			return
		}
	}
	t.Log("events still pending 60 s after the bot settled")
}

// outcome is what Feishu received, by kind.
type outcome struct {
	replies   map[string]int // parent message id -> replies
	summaries map[string]int // local day -> summaries to the subscribed chat
	reminders map[string]int // person -> reminders
	others    []string       // messages nobody asked for

	rawReplies, rawSummaries, rawReminders int // sends that reached Feishu, repeats included
	absorbed                               int // repeats Feishu dropped by their uuid
}

func classify(msgs []feishufake.Message) outcome {
	o := outcome{replies: map[string]int{}, summaries: map[string]int{}, reminders: map[string]int{}}
	for _, m := range msgs {
		switch {
		case m.Kind == "reply" && strings.HasPrefix(m.UUID, "pg-"):
			// A page clicked in a group comes as a new card under the list.
		case m.Kind == "reply":
			o.replies[m.ParentID]++
		case m.ReceiveIDType == "chat_id" && m.ReceiveID == summaryChat && strings.HasPrefix(m.UUID, "ds-"):
			o.summaries[m.UUID]++ // the uuid names the chat and the local day
		case m.ReceiveIDType == "open_id" && strings.HasPrefix(m.UUID, "rmd-"):
			o.reminders[m.ReceiveID]++
		default:
			o.others = append(o.others, fmt.Sprintf("%s to %s uuid %q", m.Kind, m.ReceiveID, m.UUID))
		}
	}
	return o
}

func outcomeOf(fs *feishuSide, sc *script) outcome {
	msgs := fs.fake.Messages()
	o := classify(msgs)
	o.rawReplies, o.rawSummaries, o.rawReminders = fs.rawSends("r-"), fs.rawSends("ds-"), fs.rawSends("rmd-")
	o.absorbed = o.rawReplies + o.rawSummaries + o.rawReminders - len(msgs)
	return o
}

func checkOutcome(t *testing.T, o outcome, sc *script, fd *feeder) {
	t.Helper()
	asked := map[string]bool{}
	for _, c := range sc.commands {
		asked[c.id] = true
		if got := o.replies[c.id]; got != c.replies {
			t.Errorf("%q (%s) got %d replies, want %d", c.text, c.id, got, c.replies)
		}
	}
	for parent, n := range o.replies {
		if !asked[parent] {
			t.Errorf("%d replies to %s, which nobody sent", n, parent)
		}
	}
	if len(o.summaries) != 1 {
		t.Errorf("daily summaries by day: %v, want exactly one, today", o.summaries)
	}
	for day, n := range o.summaries {
		if n != 1 {
			t.Errorf("%d daily summaries for %s, want 1", n, day)
		}
	}
	for _, id := range sc.noFace {
		if n := o.reminders[id]; n != 1 {
			t.Errorf("%s, who has no face photo, got %d reminders, want 1", id, n)
		}
	}
	if len(o.reminders) != len(sc.noFace) {
		t.Errorf("reminders went to %d people, want the %d without a face photo", len(o.reminders), len(sc.noFace))
	}
	for _, m := range o.others {
		t.Errorf("a message nobody asked for: %s", m)
	}
	fd.mu.Lock()
	defer fd.mu.Unlock()
	for _, p := range fd.problems {
		t.Errorf("Feishu got: %s", p)
	}
}

// checkStore requires every recorded event to be done, none pending or given up,
// and today's summary recorded as sent.
func checkStore(t *testing.T, path string) {
	t.Helper()
	db, err := openReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var notDone, sent int
	if err := db.QueryRow(`SELECT COUNT(*) FROM events WHERE state <> 'done'`).Scan(&notDone); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM pushes WHERE chat_id = ? AND finished_at IS NOT NULL AND error = ''`, summaryChat).Scan(&sent); err != nil {
		t.Fatal(err)
	}
	if notDone != 0 {
		t.Errorf("%d events pending or given up after the final stop", notDone)
	}
	if sent != 1 {
		t.Errorf("%d daily summaries recorded as sent, want 1", sent)
	}
}
