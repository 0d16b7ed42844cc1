package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"modernc.org/sqlite"

	"acsbot/acs"
	"acsbot/app"
	"acsbot/clock"
	"acsbot/feishufake"
)

// TestFaultMatrix breaks, one row at a time, something the bot depends on: Feishu's
// ACS list, its tenant token and its message API (through the fake open platform),
// and the bot's own store (through the real SQLite engine). Each row checks the three
// columns of docs/reliability.md: what the user sees (the card), what the operator
// sees (log line, /metrics, /healthz), and that nothing is lost (every command
// answered exactly once, a re-delivery answered never). Run one row with
// go test -race -run 'TestFaultMatrix/<row>' ./app.
func TestFaultMatrix(t *testing.T) {
	rows := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"acs-5xx-on-10pct-of-pages", faultACSServerErrors},
		{"acs-call-hangs-once", faultACSHangOnce},
		{"acs-hangs-for-good", faultACSHangForGood},
		{"acs-scan-outlasts-the-job", faultACSScanOutlastsJob},
		{"acs-429-storm", faultACSRateLimitStorm},
		{"acs-1490018-three-times", faultPageTokenThreeTimes},
		{"acs-1490018-past-max-restarts", faultPageTokenPastMaxRestarts},
		{"token-revoked-mid-scan", faultTokenRevokedMidScan},
		{"reply-rate-limited", faultReplyRateLimited},
		{"reply-rate-limited-past-retries", faultReplyRateLimitedPastRetries},
		{"reply-refused", faultReplyRefused},
		{"reply-failing-for-good", faultReplyFailingForGood},
		{"store-unusable-at-start", faultStoreUnusableAtStart},
		{"store-full-at-run-time", faultStoreFullAtRunTime},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			// Rows have a fake, a bot and a store each, and mostly wait out backoffs.
			t.Parallel()
			r.run(t)
		})
	}
}

const (
	faultDM  = "oc_p2p_admin0000000000000000000001"
	acsPath  = "/open-apis/acs/v1/users"
	logStore = `msg="store failing; answering from memory"`
)

// 3,000 users are 60 pages; every tenth page answers 5xx once (a JSON 500 or a
// proxy's HTML 502). The scan retries each and completes.
func faultACSServerErrors(t *testing.T) {
	users := feishufake.GenerateUsers(3000, 21)
	h := newHarness(t, harnessOpts{Users: users})
	faulted := 0
	for page := 5; page <= 60; page += 10 {
		kind := feishufake.FaultServerError
		if faulted%2 == 1 {
			kind = feishufake.FaultBadGateway
		}
		h.Fake.InjectACSFault(feishufake.Fault{Kind: kind, Page: page, Times: 1})
		faulted++
	}
	ev := h.adminSays("/stats")
	wantStats(t, h.answerTo(ev), users)
	h.wantMetric(`acsbot_acs_calls_total{result="server_error"}`, float64(faulted))
	h.wantMetric(`acsbot_acs_calls_total{result="ok"}`, 60)
	if got := h.Fake.ACSListCalls(); got != 60+faulted {
		t.Errorf("%d ACS list calls, want %d (60 pages + one retry per fault)", got, 60+faulted)
	}
	h.answeredOnce(ev)
}

// hungTimeout is the Feishu call timeout in the rows where ACS calls hang.
const hungTimeout = 500 * time.Millisecond

// One page hangs past the call timeout; the call is abandoned and retried.
func faultACSHangOnce(t *testing.T) {
	users := feishufake.GenerateUsers(260, 22)
	h := newHarness(t, harnessOpts{Users: users, CallTimeout: hungTimeout})
	h.Fake.InjectACSFault(feishufake.Fault{Kind: feishufake.FaultHang, Page: 3, Times: 1})
	ev := h.adminSays("/stats")
	wantStats(t, h.answerTo(ev), users)
	// At least: under load an ordinary call may also run out of time, and is retried too.
	if got := h.metric(`acsbot_acs_calls_total{result="transport_error"}`); got < 1 {
		t.Errorf("acs transport errors = %v, want the hung call counted", got)
	}
	h.answeredOnce(ev)
}

// Every ACS call hangs: after the retries the asker gets an error card, not silence,
// and the next question after ACS recovers is answered.
func faultACSHangForGood(t *testing.T) {
	logs := keptLogs(t)
	h := newHarness(t, harnessOpts{CallTimeout: hungTimeout, Logs: logs})
	h.Fake.InjectACSFault(feishufake.Fault{Kind: feishufake.FaultHang})
	ev := h.adminSays("/noface")
	wantErrorCard(t, h.answerTo(ev), "")
	h.wantMetric(`acsbot_acs_calls_total{result="transport_error"}`, 5)
	h.wantMetric(`acsbot_commands_total{command="noface",outcome="error"}`, 1)
	wantLog(t, logs, `msg="directory unavailable"`, 1)

	h.Fake.ClearFaults()
	again := h.adminSays("/stats")
	wantStats(t, h.answerTo(again), h.Fake.Users())
	h.answeredOnce(ev, again)
}

// Every page hangs once, so a cold scan takes longer than the job may wait: the
// asker gets an error card in time, the scan finishes behind it, and the next
// question is answered from what it found.
func faultACSScanOutlastsJob(t *testing.T) {
	// 8 pages, each at least 0.6 s (a hung call, then a backoff), outlast the 3.5 s
	// a job of 4 s gives its command (the last eighth is kept for the reply).
	users := feishufake.GenerateUsers(400, 23)
	logs := keptLogs(t)
	h := newHarness(t, harnessOpts{Users: users, CallTimeout: hungTimeout, JobTimeout: 4 * time.Second, Logs: logs})
	for page := 1; page <= 8; page++ {
		h.Fake.InjectACSFault(feishufake.Fault{Kind: feishufake.FaultHang, Page: page, Times: 1})
	}
	ev := h.adminSays("/stats")
	wantErrorCard(t, h.answerTo(ev), "")
	wantLog(t, logs, `msg="directory unavailable"`, 1)
	h.Eventually("the scan to finish behind the error card", func() bool {
		_, body := h.health()
		return strings.Contains(body, fmt.Sprintf(`"users":%d`, len(users)))
	})
	again := h.adminSays("/stats")
	wantStats(t, h.answerTo(again), users)
	h.answeredOnce(ev, again)
}

// Three 429s in a row while ten people ask at once: the one shared scan waits what
// x-ogw-ratelimit-reset says each time, and everyone gets the answer.
func faultACSRateLimitStorm(t *testing.T) {
	users := feishufake.GenerateUsers(260, 24) // 6 pages
	h := newHarness(t, harnessOpts{Users: users})
	const storm = 3
	h.Fake.InjectACSFault(feishufake.Fault{Kind: feishufake.FaultRateLimit, Times: storm, ResetSeconds: 1})
	var evs []feishufake.Envelope
	var wg sync.WaitGroup
	for range 10 {
		ev := h.Fake.MessageEvent(feishufake.UserMessage{ChatID: readerChat, ChatType: "group", SenderOpenID: readerID, Text: "/stats", MentionBot: true})
		evs = append(evs, ev)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body := h.Deliver(ev); status != 200 {
				t.Errorf("deliver: status %d: %s", status, body)
			}
		}()
	}
	wg.Wait()
	for _, ev := range evs {
		wantStats(t, h.answerTo(ev), users)
	}
	h.wantMetric(`acsbot_acs_calls_total{result="rate_limited"}`, storm)
	if got := h.Fake.ACSListCalls(); got != 6+storm {
		t.Errorf("%d ACS list calls, want %d: one scan for ten askers, one retry per 429", got, 6+storm)
	}
	// The bot's own waiting, not a speed figure: no call may follow a 429 sooner
	// than the reset it announced.
	calls := h.callsTo(acsPath)
	for i, c := range calls[:len(calls)-1] {
		if c.Status == http.StatusTooManyRequests {
			if gap := calls[i+1].At.Sub(c.At); gap < time.Second {
				t.Errorf("retried %v after a 429 that said reset in 1 s", gap)
			}
		}
	}
	h.answeredOnce(evs...)
}

// 1490018 (page token invalid) three times in one scan: each restarts the scan from
// page 1, within acs MaxRestarts (3).
func faultPageTokenThreeTimes(t *testing.T) {
	users := feishufake.GenerateUsers(260, 25) // 6 pages
	logs := keptLogs(t)
	h := newHarness(t, harnessOpts{Users: users, Logs: logs})
	h.Fake.InjectACSFault(feishufake.Fault{Kind: feishufake.FaultInvalidPageToken, Page: 3, Times: 3})
	ev := h.adminSays("/stats")
	wantStats(t, h.answerTo(ev), users)
	h.wantMetric(`acsbot_acs_calls_total{result="invalid_page_token"}`, 3)
	if got, want := h.Fake.ACSListCalls(), 3*3+6; got != want {
		t.Errorf("%d ACS list calls, want %d: three walks to page 3, then the full scan", got, want)
	}
	wantLog(t, logs, `msg="acs page token rejected, restarting the scan from the first page"`, 3)
	h.answeredOnce(ev)
}

// A fourth 1490018 is past MaxRestarts: the asker gets an error card with the code,
// and the next question scans afresh.
func faultPageTokenPastMaxRestarts(t *testing.T) {
	users := feishufake.GenerateUsers(260, 26)
	logs := keptLogs(t)
	h := newHarness(t, harnessOpts{Users: users, Logs: logs})
	h.Fake.InjectACSFault(feishufake.Fault{Kind: feishufake.FaultInvalidPageToken, Page: 3, Times: 4})
	ev := h.adminSays("/stats")
	wantErrorCard(t, h.answerTo(ev), "1490018")
	h.wantMetric(`acsbot_acs_calls_total{result="invalid_page_token"}`, 4)
	wantLog(t, logs, "page token rejected 4 times, giving up", 1)
	again := h.adminSays("/stats")
	wantStats(t, h.answerTo(again), users)
	h.answeredOnce(ev, again)
}

// The tenant token is revoked while a scan is on page 10 of 40: the next call is
// refused with 99991663, the bot drops its cached token, the SDK fetches a new one,
// and the scan completes.
func faultTokenRevokedMidScan(t *testing.T) {
	users := feishufake.GenerateUsers(2000, 27)
	logs := keptLogs(t)
	h := newHarness(t, harnessOpts{Users: users, Logs: logs})
	h.Fake.SetPageLatency(10 * time.Millisecond)
	tokens := h.Fake.TokenRequests()
	revoked := make(chan struct{})
	go func() {
		defer close(revoked)
		for deadline := time.Now().Add(10 * time.Second); h.Fake.ACSListCalls() < 10 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		h.Fake.RevokeTokens()
	}()
	ev := h.adminSays("/stats")
	wantStats(t, h.answerTo(ev), users)
	<-revoked
	refused := 0
	for _, c := range h.callsTo(acsPath) {
		if c.Code == 99991663 {
			refused++
		}
	}
	// Two refusals: the SDK's own retry resends the stale token; then the bot's
	// retry, with the cached token dropped, makes the SDK fetch a new one.
	if refused != 2 {
		t.Fatalf("%d ACS calls refused with 99991663, want 2: the token was not revoked mid-scan, or not replaced", refused)
	}
	if got := h.Fake.TokenRequests(); got != tokens+1 {
		t.Errorf("%d tenant token requests after the revocation, want 1", got-tokens)
	}
	wantLog(t, logs, `msg="feishu token refused, evicted cached tokens"`, 1)
	h.answeredOnce(ev)
}

// One reply answered 429: the reply goes out after the reset, once.
func faultReplyRateLimited(t *testing.T) {
	h, logs, ev, id := askRateLimited(t, 1)
	wantStats(t, h.answerTo(ev), h.Fake.Users())
	h.Eventually("two reply calls", func() bool { return len(h.callsTo(replyPath(id))) >= 2 })
	calls := h.callsTo(replyPath(id))
	if len(calls) != 2 || calls[0].Status != http.StatusTooManyRequests || calls[1].Status != http.StatusOK {
		t.Fatalf("reply calls %+v, want a 429 then a 200", calls)
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < time.Second {
		t.Errorf("reply retried %v after a 429 that said reset in 1 s", gap)
	}
	wantLog(t, logs, `msg="feishu call failed, retrying" op="reply to message`, 1)
	h.wantMetric(`acsbot_messages_total{kind="reply",result="ok"}`, 1)
	h.answeredOnce(ev)
}

// The reply stays rate limited past its attempts and the delivery stage's wait: the
// job stays recorded and the next round (housekeeping every 30 s, or here a restart)
// answers it, once.
func faultReplyRateLimitedPastRetries(t *testing.T) {
	h, logs, ev, id := askRateLimited(t, 0)
	h.Eventually("three rate-limited replies", func() bool { return len(h.callsTo(replyPath(id))) >= 3 })
	h.Eventually("the job to fail for now", func() bool { return strings.Contains(logs.String(), `msg="job failed; will retry"`) })
	if n := h.metric(`acsbot_messages_total{kind="reply",result="rate_limited"}`); n < 1 {
		t.Errorf("%v rate-limited replies counted, want at least 1", n)
	}
	h.Fake.ClearFaults()
	h.Restart()
	wantStats(t, h.answerTo(ev), h.Fake.Users())
	h.answeredOnce(ev)
}

// askRateLimited starts a bot whose next n replies (0: every one) Feishu answers 429
// (reset in 1 s), and asks it for statistics.
func askRateLimited(t *testing.T, n int) (h *harness, logs *logBuffer, ev feishufake.Envelope, id string) {
	logs = keptLogs(t)
	h = newHarness(t, harnessOpts{Logs: logs})
	h.Fake.InjectMessageFault(feishufake.MessageFault{HTTPStatus: 429, Code: 99991400, ResetSeconds: 1, Times: n})
	ev = h.adminSays("/stats")
	return h, logs, ev, messageID(t, ev)
}

// Feishu refuses the reply for good (230002: the bot is no longer in the chat). The
// user cannot be told; the operator gets an error log and the counters, and the
// command is finished, not retried.
func faultReplyRefused(t *testing.T) {
	logs := keptLogs(t)
	h := newHarness(t, harnessOpts{Logs: logs})
	ev := h.Fake.MessageEvent(feishufake.UserMessage{ChatID: faultDM, ChatType: "p2p", SenderOpenID: adminID, Text: "/stats"})
	id := messageID(t, ev)
	h.Fake.InjectMessageFault(feishufake.MessageFault{Code: 230002, ReceiveID: id})
	if status, body := h.Deliver(ev); status != 200 {
		t.Fatalf("deliver: %d %s", status, body)
	}
	h.settle()
	wantLog(t, logs, `msg="card refused by Feishu; not retried" what=reply`, 1)
	h.wantMetric(`acsbot_messages_total{kind="reply",result="permanent"}`, 1)
	h.wantMetric(`acsbot_commands_total{command="stats",outcome="reply_failed"}`, 1)
	if n := len(h.callsTo(replyPath(id))); n != 1 {
		t.Errorf("%d reply calls, want 1: a refusal is not retried", n)
	}
	if n := h.RepliesTo(id); n != 0 {
		t.Errorf("%d replies to a refused message", n)
	}
	// The next command is answered as usual.
	h.answeredOnce(h.adminSays("/help"))
}

// Every reply to one message fails with a 5xx. Each attempt (three calls) leaves the
// command recorded; after five attempts, across restarts, the bot gives up on it,
// counts it and records why, and never tries again.
func faultReplyFailingForGood(t *testing.T) {
	logs := keptLogs(t)
	h := newHarness(t, harnessOpts{Logs: logs})
	ev := h.Fake.MessageEvent(feishufake.UserMessage{ChatID: faultDM, ChatType: "p2p", SenderOpenID: adminID, Text: "/stats"})
	id := messageID(t, ev)
	h.Fake.InjectMessageFault(feishufake.MessageFault{HTTPStatus: 503, Code: 99991000, ReceiveID: id})
	if status, body := h.Deliver(ev); status != 200 {
		t.Fatalf("deliver: %d %s", status, body)
	}
	const attempts, callsEach = 5, 3
	for a := 1; a <= attempts; a++ {
		if a > 1 {
			h.Restart() // what housekeeping does every 30 s: resume recorded work
		}
		h.Eventually(fmt.Sprintf("attempt %d", a), func() bool { return len(h.callsTo(replyPath(id))) == a*callsEach })
		h.Eventually("the attempt to end", func() bool { return strings.Count(logs.String(), `msg="job failed; will retry"`) == a })
	}
	h.Restart()
	h.Eventually("the bot to give up", func() bool { return h.metric("acsbot_events_given_up_total") == 1 })
	wantLog(t, logs, `msg="giving up on event"`, 1)
	h.settle()
	h.Restart()
	h.answeredOnce(h.adminSays("/help")) // the bot works, and has not retried the given-up command
	if n := len(h.callsTo(replyPath(id))); n != attempts*callsEach {
		t.Errorf("%d reply calls, want %d", n, attempts*callsEach)
	}
	if n := h.RepliesTo(id); n != 0 {
		t.Errorf("%d replies to a message whose every reply failed", n)
	}
	if state, reason := h.eventState(id); state != "failed" || reason != "too many attempts" {
		t.Errorf("recorded as %q (%q), want failed (too many attempts)", state, reason)
	}
}

// A store the bot cannot write stops it at start with one message that names
// store.path and the cause.
func faultStoreUnusableAtStart(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.Stop()
	aFile := filepath.Join(t.TempDir(), "not-a-directory")
	if err := os.WriteFile(aFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Restarting on a full disk: SQLite may grow the file no further, and whatever
	// room it had inside is taken.
	capStore(t, h.Config.Store.Path, 1)
	fillStore(t, h.Config.Store.Path, 8)
	cases := []struct{ name, path, cause string }{
		{"directory is a file", filepath.Join(aFile, "acsbot.db"), "not a directory"},
		{"directory cannot be made", "/proc/acsbot-fault-test/acsbot.db", "create directory"},
		{"directory refuses new files", "/proc/self/acsbot-fault-test.db", "is its directory writable?"},
		{"path is a directory", t.TempDir(), "is a directory"},
		{"disk full", h.Config.Store.Path, "is the disk full?"},
	}
	for _, c := range cases {
		cfg := *h.Config
		cfg.Store.Path = c.path
		a, err := app.New(context.Background(), &cfg, app.Options{Logger: discardLog()})
		if err == nil {
			_ = a.Shutdown(context.Background())
			t.Errorf("%s: the bot started on store.path %s", c.name, c.path)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		for _, want := range []string{"store.path: ", c.path, c.cause} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: start-up error %q lacks %q", c.name, err, want)
			}
		}
	}
}

// The disk fills while the bot runs. It keeps answering, deduping re-deliveries in
// memory; /healthz says 503 while the store cannot be written; the log says so once
// a minute; when room comes back, /healthz is 200 again and events are recorded.
func faultStoreFullAtRunTime(t *testing.T) {
	clock := clock.NewFake(time.Now())
	logs := keptLogs(t)
	h := newHarness(t, harnessOpts{Clock: clock, Logs: logs})
	path := h.Config.Store.Path
	capStore(t, path, 64) // room for the schema and some events, taken by fillStore
	h.Restart()           // the writer connection opens with the cap
	var evs []feishufake.Envelope
	first := h.adminSays("/stats")
	wantStats(t, h.answerTo(first), h.Fake.Users())
	evs = append(evs, first)
	if status, body := h.health(); status != http.StatusOK {
		t.Fatalf("healthz before the disk filled: %d %s", status, body)
	}

	fillStore(t, path, 64)
	if status, body := h.health(); status != http.StatusServiceUnavailable || !strings.Contains(body, `"store":"failing"`) {
		t.Fatalf("healthz on a full disk: %d %s, want 503 with the store failing", status, body)
	}
	// Commands until one finds no room to be recorded, then a few more: all answered.
	for i := 0; i < 40 && h.metric(`acsbot_store_errors_total{op="record event"}`) == 0; i++ {
		ev := h.adminSays("/stats")
		wantStats(t, h.answerTo(ev), h.Fake.Users())
		evs = append(evs, ev)
	}
	if h.metric(`acsbot_store_errors_total{op="record event"}`) == 0 {
		t.Fatal("no event failed to be recorded on a full disk")
	}
	for range 3 {
		ev := h.adminSays("/stats")
		wantStats(t, h.answerTo(ev), h.Fake.Users())
		evs = append(evs, ev)
	}
	h.answeredOnce(evs...)
	wantLog(t, logs, logStore, 1)
	clock.Add(61 * time.Second)
	h.health()
	wantLog(t, logs, logStore, 2)

	emptyStore(t, path)
	if status, body := h.health(); status != http.StatusOK {
		t.Fatalf("healthz after room came back: %d %s", status, body)
	}
	errs := h.metric(`acsbot_store_errors_total{op="record event"}`)
	after := h.adminSays("/stats")
	wantStats(t, h.answerTo(after), h.Fake.Users())
	h.answeredOnce(after)
	h.Eventually("the event after recovery to be recorded done", func() bool {
		state, _ := h.eventState(messageID(t, after))
		return state == "done"
	})
	if got := h.metric(`acsbot_store_errors_total{op="record event"}`); got != errs {
		t.Errorf("store errors went from %v to %v after recovery", errs, got)
	}
	wantLog(t, logs, logStore, 2)
}

// keptLogs is a buffer for the bot's log that a failing row prints.
func keptLogs(t *testing.T) *logBuffer {
	logs := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("the bot's log:\n" + logs.String())
		}
	})
	return logs
}

// adminSays sends text to the bot in the admin's direct chat.
func (h *harness) adminSays(text string) feishufake.Envelope {
	h.t.Helper()
	return h.Say("p2p", faultDM, adminID, text)
}

// answerTo waits for the reply to ev and returns its text as a person reads it.
func (h *harness) answerTo(ev feishufake.Envelope) string {
	h.t.Helper()
	return readable(texts(h.t, h.ReplyTo(messageID(h.t, ev)).Content))
}

// answeredOnce is the "nothing lost" column: each message has exactly one reply,
// sent by exactly one successful call, and Feishu re-delivering it now is
// acknowledged and dropped as a duplicate.
func (h *harness) answeredOnce(evs ...feishufake.Envelope) {
	h.t.Helper()
	deduped := h.metric("acsbot_events_deduped_total")
	for _, ev := range evs {
		id := messageID(h.t, ev)
		h.ReplyTo(id)
		if status, body := h.Deliver(ev); status != http.StatusOK {
			h.t.Errorf("re-delivery of %s: status %d: %s", id, status, body)
		}
		if n := h.RepliesTo(id); n != 1 {
			h.t.Errorf("%d replies to %s, want 1", n, id)
		}
		// The fake logs a call just after the message it made appears.
		h.Eventually("the reply call to be logged", func() bool { return h.sentReplies(id) > 0 })
		if n := h.sentReplies(id); n != 1 {
			h.t.Errorf("%d successful reply calls for %s, want 1: %+v", n, id, h.callsTo(replyPath(id)))
		}
	}
	if got := h.metric("acsbot_events_deduped_total") - deduped; got != float64(len(evs)) {
		h.t.Errorf("%v re-deliveries deduped, want %d", got, len(evs))
	}
}

// sentReplies counts the successful reply calls to a message.
func (h *harness) sentReplies(id string) int {
	n := 0
	for _, c := range h.callsTo(replyPath(id)) {
		if c.Status == http.StatusOK {
			n++
		}
	}
	return n
}

func replyPath(messageID string) string { return "/open-apis/im/v1/messages/" + messageID + "/reply" }

// callsTo are the fake's calls to one API path, oldest first.
func (h *harness) callsTo(path string) []feishufake.Call {
	var out []feishufake.Call
	for _, c := range h.Fake.Calls() {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// metric reads one series from the bot's /metrics as a scraper does; 0 when absent.
func (h *harness) metric(series string) float64 {
	h.t.Helper()
	_, body := h.get("/metrics")
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				h.t.Fatalf("metric %s: %v", series, err)
			}
			return f
		}
	}
	return 0
}

// wantMetric waits for a series to reach want: counters move a moment after the
// reply reaches the fake.
func (h *harness) wantMetric(series string, want float64) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	got := h.metric(series)
	for got != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		got = h.metric(series)
	}
	if got != want {
		h.t.Errorf("%s = %v, want %v", series, got, want)
	}
}

// health is /healthz's status and body.
func (h *harness) health() (int, string) {
	h.t.Helper()
	return h.get("/healthz")
}

func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	resp, err := http.Get(h.URL() + path)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// eventState is how the bot's store recorded an event: pending, done or failed.
func (h *harness) eventState(key string) (state, reason string) {
	h.t.Helper()
	db := openRaw(h.t, h.Config.Store.Path)
	if err := db.QueryRow(`SELECT state, reason FROM events WHERE key = ?`, key).Scan(&state, &reason); err != nil {
		h.t.Fatalf("event %s: %v", key, err)
	}
	return state, reason
}

// wantStats checks a statistics card against the directory it describes.
func wantStats(t *testing.T, card string, users []acs.User) {
	t.Helper()
	noFace := len(slices.DeleteFunc(slices.Clone(users), func(u acs.User) bool { return u.FaceUploaded }))
	noCard := len(slices.DeleteFunc(slices.Clone(users), func(u acs.User) bool { return u.Card != 0 }))
	for _, want := range []string{
		"共 " + grouped(len(users)) + " 人",
		"**" + grouped(noFace) + "**\n未录入人脸",
		"**" + grouped(noCard) + "**\n没有门禁卡",
	} {
		if !strings.Contains(card, want) {
			t.Errorf("statistics card lacks %q:\n%s", want, card)
		}
	}
}

// wantErrorCard checks for the card that says the directory could not be read,
// with Feishu's code when code is not "".
func wantErrorCard(t *testing.T, card, code string) {
	t.Helper()
	if !strings.Contains(card, "暂时无法访问飞书门禁") || !strings.Contains(card, "请稍后再试") {
		t.Errorf("not the error card:\n%s", card)
	}
	if code != "" && !strings.Contains(card, "错误码 "+code) {
		t.Errorf("error card lacks code %s:\n%s", code, card)
	}
}

// wantLog checks that a line the operator reads appears exactly n times.
func wantLog(t *testing.T, logs *logBuffer, line string, n int) {
	t.Helper()
	if got := strings.Count(logs.String(), line); got != n {
		t.Errorf("log has %q %d times, want %d", line, got, n)
	}
}

// grouped writes n with thousands separators, as the cards do.
func grouped(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// storeCaps holds SQLite page caps by database path. The connection hook applies
// one to the bot's writer connection (the only one opened with _txlock) when it
// opens: PRAGMA max_page_count, SQLite's own limit, so a write that needs a page
// past it fails inside the real engine with SQLITE_FULL, "database or disk is
// full", as on a full disk. A cap below the file's size means "no growth": SQLite
// raises it to the size, and also when another connection grows the file.
var storeCaps sync.Map // path → pages

func init() {
	sqlite.RegisterConnectionHook(func(c sqlite.ExecQuerierContext, dsn string) error {
		if !strings.Contains(dsn, "_txlock=immediate") {
			return nil
		}
		var pages any
		storeCaps.Range(func(path, n any) bool {
			if strings.HasPrefix(dsn, "file:"+path.(string)+"?") {
				pages = n
				return false
			}
			return true
		})
		if pages == nil {
			return nil
		}
		_, err := c.ExecContext(context.Background(), fmt.Sprintf("PRAGMA max_page_count = %d", pages), nil)
		return err
	})
}

// capStore caps the database at path for writer connections opened from now on.
func capStore(t *testing.T, path string, pages int) {
	storeCaps.Store(path, pages)
	t.Cleanup(func() { storeCaps.Delete(path) })
}

// fillStore stands in for whatever else fills the disk: from a connection of its
// own (uncapped), it writes a ballast table that takes every free page of the
// database and grows it by about pages more, past a writer's cap.
func fillStore(t *testing.T, path string, pages int) {
	t.Helper()
	db := openRaw(t, path)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS ballast (b BLOB NOT NULL)`,
		fmt.Sprintf(`INSERT INTO ballast VALUES (zeroblob(%d))`, pages*4096),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("fill store: %v", err)
		}
	}
}

// emptyStore deletes the ballast: its pages become free pages the writer may use.
func emptyStore(t *testing.T, path string) {
	t.Helper()
	if _, err := openRaw(t, path).Exec(`DROP TABLE ballast`); err != nil {
		t.Fatalf("empty store: %v", err)
	}
}

// openRaw opens the bot's database beside the bot, with SQLite alone.
func openRaw(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
