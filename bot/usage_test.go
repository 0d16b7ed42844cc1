package bot_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/bottest"
	"acsbot/clock"
	"acsbot/feishufake"
)

// noFaceUser is the first user of users without a face photo.
func noFaceUser(t *testing.T, users []acs.User) acs.User {
	t.Helper()
	for _, u := range users {
		if !u.FaceUploaded {
			return u
		}
	}
	t.Fatal("every user has a face photo")
	return acs.User{}
}

// The directory stays fresh for free: a restart reads nothing, an update for a known
// user shows on the next answer with no call, one for an unknown user costs one user
// call; a full read that finds changes no event announced warns on /stats and /usage
// and falls back to reading hourly.
func TestDirectoryFreshnessEndToEnd(t *testing.T) {
	clk := clock.NewFake(bottest.At("2026-11-02", "09:00"))
	users := feishufake.GenerateUsers(120, 1)
	b := bottest.New(t, bottest.Options{Clock: clk, Users: users})
	ask := func(text string) string { return b.Ask("p2p", bottest.AdminP2P, bottest.AdminID, text) }

	ask("/stats")
	lists := b.Fake.ACSListCalls()
	if lists != 3 {
		t.Fatalf("first answer: %d list calls, want 3 pages", lists)
	}
	b.Restart()
	ask("/noface")
	if n := b.Fake.ACSListCalls() - lists; n != 0 {
		t.Fatalf("a restart cost %d list calls, want 0", n)
	}

	known := noFaceUser(t, users)
	known.FaceUploaded = true
	b.Fake.SetUser(known)
	b.Deliver(b.Fake.UserUpdatedEvent(known))
	if got := ask("/noface"); strings.Contains(got, known.ID) {
		t.Fatalf("%s still listed after their update event", known.ID)
	}
	if b.Fake.ACSListCalls() != lists || b.Fake.ACSGetCalls() != 0 {
		t.Fatalf("an update for a known user cost %d list and %d user calls",
			b.Fake.ACSListCalls()-lists, b.Fake.ACSGetCalls())
	}

	stranger := acs.User{ID: "ou_stranger00000000000000000000001", Card: 7}
	b.Fake.SetUser(stranger)
	b.Deliver(b.Fake.UserUpdatedEvent(stranger))
	b.Eventually("the stranger added", func() bool { return strings.Contains(ask("/noface"), stranger.ID) })
	if b.Fake.ACSGetCalls() != 1 || b.Fake.ACSListCalls() != lists {
		t.Fatalf("an update for an unknown user cost %d user and %d list calls, want 1 and 0",
			b.Fake.ACSGetCalls(), b.Fake.ACSListCalls()-lists)
	}

	// A face photo uploaded with no event to say so: only a full read sees it.
	silent := noFaceUser(t, b.Fake.Users())
	silent.FaceUploaded = true
	b.Fake.SetUser(silent)
	ask("/refresh")
	const missing = "没有收到门禁用户更新事件"
	for _, cmd := range []string{"/stats", "/usage"} {
		if got := ask(cmd); !strings.Contains(got, missing) || !strings.Contains(got, "acs.user.updated_v1") {
			t.Fatalf("%s does not say update events are missing:\n%s", cmd, got)
		}
	}
	lists = b.Fake.ACSListCalls()
	clk.Add(61 * time.Minute)
	ask("/stats")
	b.Eventually("the hourly fallback read", func() bool { return b.Fake.ACSListCalls() == lists+3 })

	// An event arrives again: the warning goes.
	b.Deliver(b.Fake.UserUpdatedEvent(silent))
	if got := ask("/stats"); strings.Contains(got, missing) {
		t.Fatalf("/stats still warns after an update event:\n%s", got)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// The quota guard through the real server: /usage shows what the fake counted, the
// admins get one warning at 80 % however often the bot restarts, a round too big
// for what is left is refused on its card, and past the quota 99991403 is never
// retried, logged once an hour, shown on /healthz and the gauge until the month turns.
func TestQuotaGuardEndToEnd(t *testing.T) {
	clk := clock.NewFake(bottest.At("2026-11-02", "09:00"))
	logs := &bottest.Log{}
	b := bottest.New(t, bottest.Options{Clock: clk, Logs: logs})
	const quota = 20
	b.Config.Feishu.MonthlyQuota = quota
	b.Fake.SetMonthlyQuota(quota)
	b.Restart()
	ask := func(text string) string { return b.Ask("p2p", bottest.AdminP2P, bottest.AdminID, text) }

	if n := b.Fake.Usage().Counted["lookup"]; n != 1 {
		t.Fatalf("bot info asked %d times over a restart, want once", n)
	}
	for range 3 {
		before := settled(t, b)
		got := ask("/usage")
		for want, n := range map[string]int{"本月计入用量的调用 **%d 次**": before.CountedTotal(), "**%d**\n回复": before.Counted["reply"],
			"**%d**\n查询群和机器人": before.Counted["lookup"], "读取门禁名单（页） %d": before.Free["acs_list"]} {
			if w := fmt.Sprintf(want, n); !strings.Contains(got, w) {
				t.Fatalf("/usage lacks %q, the fake's count:\n%s", w, got)
			}
		}
	}

	// 4 counted calls so far; the 16th is 80 %.
	warnings := func() int {
		n := 0
		for _, m := range b.Fake.Messages() {
			if m.Kind == "create" && m.ReceiveID == bottest.AdminID && strings.Contains(m.Content, "80%") {
				n++
			}
		}
		return n
	}
	for settled(t, b).CountedTotal() < 16 {
		ask("/stats")
	}
	b.Eventually("the 80% warning", func() bool { return warnings() == 1 })
	b.Restart()
	ask("/stats")
	left := quota - settled(t, b).CountedTotal()
	if got := ask("/remind noface"); !strings.Contains(got, "本月用量不够发送这轮提醒") {
		t.Fatalf("a round past the quota was offered:\n%s", got)
	} else if !strings.Contains(got, fmt.Sprintf("只剩 **%d 次**", left)) {
		t.Fatalf("the refusal does not say %d are left:\n%s", left, got)
	}
	if n := warnings(); n != 1 {
		t.Fatalf("%d warnings this month, want 1", n)
	}

	for settled(t, b).CountedTotal() < quota {
		ask("/stats")
	}
	refusedBefore := refusals(b)
	for range 3 {
		ev := b.Say("p2p", bottest.AdminP2P, bottest.AdminID, "/stats")
		deadline := time.Now().Add(10 * time.Second)
		for refusals(b) == refusedBefore && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if refusals(b) == refusedBefore {
			for _, c := range b.Calls()[max(0, len(b.Calls())-6):] {
				t.Logf("%s %s %d %.200s", c.Method, c.Path, c.Status, c.RespBody)
			}
			t.Fatalf("no refused reply; usage %+v", b.Fake.Usage())
		}
		refusedBefore = refusals(b)
		if n := b.RepliesTo(bottest.MessageID(t, ev)); n != 0 {
			t.Fatalf("a reply past the quota")
		}
	}
	time.Sleep(200 * time.Millisecond) // a retry, if there were one, would come now
	if n := refusals(b); n != refusedBefore {
		t.Fatalf("99991403 retried: %d refusals for 3 asks", n)
	}
	if n := strings.Count(logs.String(), "quota is used up"); n != 1 {
		t.Fatalf("the used-up quota logged %d times within the hour, want 1", n)
	}
	if h := get(t, b.URL()+"/healthz"); !strings.Contains(h, `"quota_exhausted":true`) {
		t.Fatalf("/healthz does not report the used-up quota: %s", h)
	}
	if m := get(t, b.URL()+"/metrics"); !strings.Contains(m, "acsbot_quota_exhausted 1") {
		t.Fatal("acsbot_quota_exhausted is not 1")
	}

	clk.Set(bottest.At("2026-12-01", "09:00"))
	if h := get(t, b.URL()+"/healthz"); !strings.Contains(h, `"quota_exhausted":false`) {
		t.Fatalf("/healthz still reports the quota used up in a new month: %s", h)
	}
	if m := get(t, b.URL()+"/metrics"); !strings.Contains(m, "acsbot_quota_exhausted 0") {
		t.Fatal("acsbot_quota_exhausted is not 0 in a new month")
	}
	if got := ask("/usage"); !strings.Contains(got, "本月计入用量的调用 **0 次**") {
		t.Fatalf("a new month's /usage:\n%s", got)
	}
}

// settled is the fake's count once the fake and the bot agree on it: the test
// reads a reply as soon as the fake records it, a moment before the fake counts
// it and before the bot has read Feishu's answer.
func settled(t *testing.T, b *bottest.Bot) feishufake.Usage {
	var u feishufake.Usage
	b.Eventually("the fake and the bot to agree", func() bool {
		replies, sends := 0, 0
		for _, m := range b.Fake.Messages() {
			if m.Kind == "reply" {
				replies++
			} else {
				sends++
			}
		}
		u = b.Fake.Usage()
		if u.Counted["reply"] != replies || u.Counted["send"] != sends {
			return false
		}
		metrics := get(t, b.URL()+"/metrics")
		for kind, n := range u.Counted {
			if !strings.Contains(metrics, fmt.Sprintf("acsbot_feishu_calls_this_month{kind=%q} %d\n", kind, n)) {
				return false
			}
		}
		return true
	})
	return u
}

// refusals counts the fake's 99991403 answers.
func refusals(b *bottest.Bot) int {
	n := 0
	for _, c := range b.Calls() {
		var v struct{ Code int }
		if json.Unmarshal([]byte(c.RespBody), &v) == nil && v.Code == 99991403 {
			n++
		}
	}
	return n
}
