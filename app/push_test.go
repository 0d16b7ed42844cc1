package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/clock"
	"acsbot/feishu"
	"acsbot/feishufake"
	"acsbot/store"
)

// summaries are the daily summaries the bot sent (uuid "ds-..."), oldest first.
func (h *harness) summaries() []feishufake.Message {
	var out []feishufake.Message
	for _, m := range h.Fake.Messages() {
		if m.Kind == "create" && strings.HasPrefix(m.UUID, "ds-") {
			out = append(out, m)
		}
	}
	return out
}

// summariesTo are the summaries a chat got.
func (h *harness) summariesTo(chatID string) []feishufake.Message {
	var out []feishufake.Message
	for _, m := range h.summaries() {
		if m.ReceiveID == chatID {
			out = append(out, m)
		}
	}
	return out
}

// tick runs one scheduler pass at the harness clock's time.
func (h *harness) tick() error {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return h.App().Scheduler().Tick(ctx)
}

func (h *harness) mustTick() {
	h.t.Helper()
	if err := h.tick(); err != nil {
		h.t.Fatalf("scheduler pass: %v", err)
	}
}

func statsOf(users []acs.User) acs.Stats {
	st := acs.Stats{Total: len(users)}
	for _, u := range users {
		if u.FaceUploaded {
			st.WithFace++
		} else {
			st.NoFace++
		}
		if u.Card == 0 {
			st.NoCard++
		}
	}
	return st
}

// chartPoints are the trend chart's points of a card ("11-25" -> coverage), nil
// when the card has no chart.
func chartPoints(t *testing.T, cardJSON string) map[string]float64 {
	t.Helper()
	var card struct {
		Body struct {
			Elements []struct {
				Tag  string `json:"tag"`
				Spec struct {
					Data []struct {
						Values []struct {
							Day      string  `json:"day"`
							Coverage float64 `json:"coverage"`
						} `json:"values"`
					} `json:"data"`
				} `json:"chart_spec"`
			} `json:"elements"`
		} `json:"body"`
	}
	if err := json.Unmarshal([]byte(cardJSON), &card); err != nil {
		t.Fatalf("card is not JSON: %v", err)
	}
	for _, e := range card.Body.Elements {
		if e.Tag == "chart" && len(e.Spec.Data) == 1 {
			out := map[string]float64{}
			for _, v := range e.Spec.Data[0].Values {
				out[v.Day] = v.Coverage
			}
			return out
		}
	}
	return nil
}

// Summaries come at their minute, once per chat per day, from one scan shared by
// every chat due at that minute when there is no snapshot yet, and from the current
// snapshot after that; the next day's shows the change and the trend.
func TestDailySummary(t *testing.T) {
	users := feishufake.GenerateUsers(120, 1)
	clock := clock.NewFake(at("2026-11-25", "08:58"))
	h := newHarness(t, harnessOpts{Clock: clock, Users: users})
	h.Ask("group", readerChat, adminID, "/subscribe 09:00")
	h.Ask("group", otherChat, adminID, "/subscribe 9:00")
	h.Ask("p2p", adminP2P, adminID, "/subscribe 09:30")

	clock.Set(at("2026-11-25", "08:59"))
	h.mustTick()
	if n := len(h.summaries()); n != 0 {
		t.Fatalf("%d summaries before their time", n)
	}

	calls := h.Fake.ACSListCalls()
	clock.Set(at("2026-11-25", "09:00").Add(5 * time.Second))
	h.mustTick()
	if got, want := h.Fake.ACSListCalls()-calls, (len(users)+49)/50; got != want {
		t.Errorf("two chats due at 09:00 cost %d ACS list calls, want one scan of %d", got, want)
	}
	for _, chat := range []string{readerChat, otherChat} {
		got := h.summariesTo(chat)
		if len(got) != 1 {
			t.Fatalf("%s got %d summaries at 09:00, want 1", chat, len(got))
		}
		if want := (store.PushClaim{ChatID: chat, Day: "2026-11-25"}).UUID(); got[0].UUID != want {
			t.Errorf("summary uuid %q, want %q", got[0].UUID, want)
		}
	}
	if n := len(h.summariesTo(adminP2P)); n != 0 {
		t.Fatalf("the 09:30 chat got its summary at 09:00")
	}

	st := statsOf(users)
	day1 := readable(texts(t, h.summariesTo(readerChat)[0].Content))
	for _, w := range []string{
		"门禁日报 2026-11-25",
		fmt.Sprint(st.Total), fmt.Sprint(st.WithFace), fmt.Sprint(st.NoFace), fmt.Sprint(st.NoCard),
		fmt.Sprintf("前 10 人，共 %d 人", st.NoFace),
		"第一份日报",
	} {
		if !strings.Contains(day1, w) {
			t.Errorf("first summary lacks %q:\n%s", w, day1)
		}
	}
	if pts := chartPoints(t, h.summariesTo(readerChat)[0].Content); pts != nil {
		t.Errorf("a first day has no trend to draw, got %v", pts)
	}

	// Later passes the same day, and a restart, send nothing more.
	clock.Set(at("2026-11-25", "09:00").Add(40 * time.Second))
	h.mustTick()
	clock.Set(at("2026-11-25", "09:30"))
	h.mustTick()
	h.Restart()
	clock.Set(at("2026-11-25", "12:00"))
	h.mustTick()
	for chat, want := range map[string]int{readerChat: 1, otherChat: 1, adminP2P: 1} {
		if n := len(h.summariesTo(chat)); n != want {
			t.Errorf("%s got %d summaries on day 1, want %d", chat, n, want)
		}
	}

	// Day 2: five more people uploaded a face photo.
	changed := append([]acs.User(nil), users...)
	uploaded := 0
	for i := range changed {
		if !changed[i].FaceUploaded && uploaded < 5 {
			changed[i].FaceUploaded = true
			uploaded++
		}
	}
	// Their update events keep the snapshot current for the summary.
	for i := range changed {
		if changed[i] != users[i] {
			h.Fake.SetUser(changed[i])
			if status, body := h.Deliver(h.Fake.UserUpdatedEvent(changed[i])); status != 200 {
				t.Fatalf("update event: %d %s", status, body)
			}
		}
	}
	clock.Set(at("2026-11-26", "09:00"))
	h.mustTick()
	got := h.summariesTo(readerChat)
	if len(got) != 2 {
		t.Fatalf("%d summaries after day 2, want 2", len(got))
	}
	day2 := readable(texts(t, got[1].Content))
	for _, w := range []string{"门禁日报 2026-11-26", "较上次日报（2026-11-25）", "已录入人脸 ▲ 5", "未录入人脸 ▼ 5", "门禁用户 ±0"} {
		if !strings.Contains(day2, w) {
			t.Errorf("day 2 summary lacks %q:\n%s", w, day2)
		}
	}
	cov := func(st acs.Stats) float64 { return float64(st.WithFace*1000/st.Total) / 10 }
	pts := chartPoints(t, got[1].Content)
	want := map[string]float64{"11-25": cov(st), "11-26": cov(statsOf(changed))}
	if len(pts) != len(want) || pts["11-25"] != want["11-25"] || pts["11-26"] != want["11-26"] {
		t.Errorf("trend %v, want %v", pts, want)
	}
	days, err := h.DB().DayStatsSince(context.Background(), "2026-11-01")
	if err != nil || len(days) != 2 {
		t.Fatalf("day stats %v (%v), want one row for each of the 2 days", days, err)
	}
}

// A bot that was down at a chat's time sends the missed summary when it starts, the
// same local day only; a day that passed while it was down gets nothing.
func TestDailySummaryCatchUp(t *testing.T) {
	clock := clock.NewFake(at("2026-11-25", "08:00"))
	h := newHarness(t, harnessOpts{Clock: clock})
	h.Ask("group", readerChat, adminID, "/subscribe 09:00")
	h.Ask("group", otherChat, adminID, "/subscribe 23:00")
	h.Stop()

	clock.Set(at("2026-11-26", "10:00")) // down all of 11-25's 09:00 and 23:00
	h.Start()
	h.mustTick() // waits for the start-up pass
	if got := h.summariesTo(readerChat); len(got) != 1 || got[0].UUID != (store.PushClaim{ChatID: readerChat, Day: "2026-11-26"}).UUID() {
		t.Fatalf("catch-up: %d summaries to the 09:00 chat, want today's only: %+v", len(got), got)
	}
	if n := len(h.summariesTo(otherChat)); n != 0 {
		t.Fatalf("the 23:00 chat got %d summaries: none is due today yet, and yesterday's is past", n)
	}
	clock.Set(at("2026-11-26", "23:00"))
	h.mustTick()
	if n := len(h.summariesTo(otherChat)); n != 1 {
		t.Fatalf("the 23:00 chat got %d summaries at 23:00, want 1", n)
	}

	// A chat subscribed after its time today was never due today: a restart does
	// not make it one.
	const late = "oc_late00000000000000000000000000005"
	h.Fake.SetChat(late, "Late")
	h.Ask("group", late, adminID, "/subscribe 22:00")
	h.Restart()
	h.mustTick()
	if n := len(h.summariesTo(late)); n != 0 {
		t.Fatalf("a chat subscribed at 23:00 for 22:00 got %d summaries today", n)
	}
}

// A summary whose send was cut short by a restart is sent once: before the send
// (Feishu failing, then the bot stopping) and after it (sent, never recorded).
func TestDailySummaryOnceAcrossRestart(t *testing.T) {
	t.Run("stopped before the send got through", func(t *testing.T) {
		clock := clock.NewFake(at("2026-11-25", "08:00"))
		h := newHarness(t, harnessOpts{Clock: clock})
		h.Ask("group", readerChat, adminID, "/subscribe 09:00")
		h.Fake.InjectMessageFault(feishufake.MessageFault{HTTPStatus: 500, Code: 1490001, ReceiveID: readerChat})
		clock.Set(at("2026-11-25", "09:00"))
		_ = h.tick() // the send fails; the claim stays
		h.Stop()
		if n := len(h.summaries()); n != 0 {
			t.Fatalf("%d summaries while Feishu failed", n)
		}
		h.Fake.ClearFaults()
		clock.Set(at("2026-11-25", "09:20"))
		h.Start()
		h.mustTick()
		if n := len(h.summariesTo(readerChat)); n != 1 {
			t.Fatalf("%d summaries after the restart, want 1", n)
		}
	})
	t.Run("stopped after the send, before it was recorded", func(t *testing.T) {
		clock := clock.NewFake(at("2026-11-25", "08:00"))
		h := newHarness(t, harnessOpts{Clock: clock})
		h.Ask("group", readerChat, adminID, "/subscribe 09:00")
		h.Stop()
		// What a crash leaves behind: the day claimed, the card sent with the
		// claim's uuid, nothing finished.
		clock.Set(at("2026-11-25", "09:00"))
		st := h.DB()
		if ok, err := st.BeginPush(context.Background(), readerChat, "2026-11-25", clock.Now()); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		fc := feishu.NewClient(feishu.ClientConfig{AppID: h.Config.Feishu.AppID, AppSecret: h.Config.Feishu.AppSecret.Value(), BaseURL: h.Fake.URL(), Timeout: 5 * time.Second})
		claim := store.PushClaim{ChatID: readerChat, Day: "2026-11-25"}
		if _, err := fc.Send(context.Background(), "chat_id", readerChat, `{"schema":"2.0","config":{"update_multi":true},"body":{"elements":[]}}`, claim.UUID()); err != nil {
			t.Fatalf("send the first card: %v", err)
		}
		clock.Set(at("2026-11-25", "09:10"))
		h.Start()
		h.mustTick()
		if n := len(h.summariesTo(readerChat)); n != 1 {
			t.Fatalf("%d summaries, want 1: the resend carries the same uuid", n)
		}
		h.Eventually("the summary to be recorded as sent", func() bool {
			subs, err := st.Subscriptions(context.Background())
			return err == nil && len(subs) == 1 && subs[0].LastSentDay == "2026-11-25"
		})
	})
}

// A send Feishu refuses for good (the bot is no longer in the chat) is not retried;
// /subscriptions shows the chat as failing, with the reason.
func TestDailySummaryFailsForGood(t *testing.T) {
	clock := clock.NewFake(at("2026-11-25", "08:00"))
	h := newHarness(t, harnessOpts{Clock: clock})
	h.Ask("group", readerChat, adminID, "/subscribe 09:00")
	h.Fake.InjectMessageFault(feishufake.MessageFault{Code: 230002, ReceiveID: readerChat})
	sends := func() int {
		n := 0
		for _, c := range h.Fake.Calls() {
			if c.Method == "POST" && c.Path == "/open-apis/im/v1/messages" && strings.Contains(c.ReqBody, readerChat) {
				n++
			}
		}
		return n
	}
	clock.Set(at("2026-11-25", "09:00"))
	h.mustTick()
	if n := sends(); n != 1 {
		t.Fatalf("%d send attempts for a refusal that no retry can fix, want 1", n)
	}
	for _, d := range []time.Duration{time.Minute, 10 * time.Minute, time.Hour} {
		clock.Set(at("2026-11-25", "09:00").Add(d))
		h.mustTick()
	}
	if n := sends(); n != 1 {
		t.Fatalf("%d send attempts after later passes, want still 1", n)
	}
	got := h.Ask("p2p", adminP2P, adminID, "/subscriptions")
	for _, w := range []string{"Facility team", "失败", "230002"} {
		if !strings.Contains(got, w) {
			t.Errorf("subscriptions card lacks %q:\n%s", w, got)
		}
	}
}

// /push now shows the chat's summary at once and does not count as the day's.
func TestPushNow(t *testing.T) {
	users := feishufake.GenerateUsers(60, 5)
	clock := clock.NewFake(at("2026-11-25", "08:00"))
	h := newHarness(t, harnessOpts{Clock: clock, Users: users})
	h.Ask("group", readerChat, adminID, "/subscribe 09:00")

	got := h.Ask("group", readerChat, adminID, "/push now")
	if !strings.Contains(got, "门禁日报 2026-11-25") || !strings.Contains(got, fmt.Sprint(statsOf(users).NoFace)) {
		t.Fatalf("/push now did not answer with the summary:\n%s", got)
	}
	if got := h.Ask("group", readerChat, readerID, "/push now"); strings.Contains(got, "门禁日报") {
		t.Fatalf("a reader ran /push now:\n%s", got)
	}
	if got := h.Ask("group", readerChat, adminID, "/push later"); !strings.Contains(got, "/push") || strings.Contains(got, "门禁日报 2026") {
		t.Fatalf("/push with a wrong argument did not get the usage card:\n%s", got)
	}
	clock.Set(at("2026-11-25", "09:00"))
	h.mustTick()
	if n := len(h.summariesTo(readerChat)); n != 1 {
		t.Fatalf("%d summaries at 09:00 after /push now, want the day's 1", n)
	}
}

// A send that keeps failing for a passing reason (Feishu 5xx) is retried with
// growing gaps, then given up for the day and shown as failing.
func TestDailySummaryRetriesThenGivesUp(t *testing.T) {
	clock := clock.NewFake(at("2026-11-25", "08:00"))
	h := newHarness(t, harnessOpts{Clock: clock})
	h.Ask("group", readerChat, adminID, "/subscribe 09:00")
	h.Fake.InjectMessageFault(feishufake.MessageFault{HTTPStatus: 500, Code: 1490001, ReceiveID: readerChat})
	rounds := func() int {
		n := 0
		for _, c := range h.Fake.Calls() {
			if c.Method == "POST" && c.Path == "/open-apis/im/v1/messages" && strings.Contains(c.ReqBody, readerChat) {
				n++
			}
		}
		return n / 3 // the client tries each send 3 times
	}
	steps := []struct {
		at     string
		rounds int
	}{
		{"09:00", 1},
		{"09:00", 1}, // a pass in the same minute waits for the backoff
		{"09:01", 2},
		{"09:02", 2},
		{"09:03", 3},
		{"09:07", 4},
		{"09:15", 5},
		{"10:00", 5}, // given up
		{"12:00", 5},
	}
	for _, s := range steps {
		clock.Set(at("2026-11-25", s.at))
		_ = h.tick()
		if n := rounds(); n != s.rounds {
			t.Fatalf("after the pass at %s: %d send rounds, want %d", s.at, n, s.rounds)
		}
	}
	got := h.Ask("p2p", adminP2P, adminID, "/subscriptions")
	if !strings.Contains(got, "失败") || !strings.Contains(got, "5 attempts") {
		t.Fatalf("a summary given up is not shown as failing:\n%s", got)
	}
	h.Fake.ClearFaults()
	clock.Set(at("2026-11-26", "09:00"))
	h.mustTick()
	if n := len(h.summariesTo(readerChat)); n != 1 {
		t.Fatalf("the next day's summary: %d sent, want 1", n)
	}
}

// RunNow (the demo's "run daily summary now") sends today's summary to every
// subscribed chat whatever its time, still once per chat per day, and leaves
// unsubscribed chats alone.
func TestRunNowSendsEachSubscribedChatOnce(t *testing.T) {
	clock := clock.NewFake(at("2026-11-25", "07:00"))
	h := newHarness(t, harnessOpts{Clock: clock})
	h.Ask("group", readerChat, adminID, "/subscribe 09:00")
	h.Ask("p2p", adminP2P, adminID, "/subscribe 18:30")
	h.mustTick()
	if n := len(h.summaries()); n != 0 {
		t.Fatalf("%d summaries before their time", n)
	}

	run := func() int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		n, err := h.App().Scheduler().RunNow(ctx)
		if err != nil {
			t.Fatalf("RunNow: %v", err)
		}
		return n
	}
	if n := run(); n != 2 {
		t.Errorf("RunNow sent %d summaries, want 2", n)
	}
	for _, chat := range []string{readerChat, adminP2P} {
		if got := len(h.summariesTo(chat)); got != 1 {
			t.Errorf("%s got %d summaries, want 1", chat, got)
		}
	}
	if got := len(h.summariesTo(otherChat)); got != 0 {
		t.Errorf("unsubscribed %s got %d summaries", otherChat, got)
	}

	if n := run(); n != 0 {
		t.Errorf("a second RunNow the same day sent %d summaries, want 0", n)
	}
	clock.Set(at("2026-11-25", "09:00").Add(5 * time.Second))
	h.mustTick()
	if n := len(h.summaries()); n != 2 {
		t.Errorf("%d summaries after the 09:00 pass, want still 2: today's already went out", n)
	}

	clock.Set(at("2026-11-26", "06:00"))
	if n := run(); n != 2 {
		t.Errorf("RunNow the next day sent %d summaries, want 2", n)
	}
}
