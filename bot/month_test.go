package bot_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/bottest"
	"acsbot/clock"
	"acsbot/config"
	"acsbot/feishufake"
	"acsbot/store"
)

// monthScale is the size of a simulated month.
type monthScale struct {
	users, days, questions, events, unknownPerDay, noFace int
}

// fullMonth is issue 12's month: 5,000 people, 200 questions and 50 update events
// a working day for 22 days. ciMonth is a week of it with fewer people and
// questions, small enough for -race in CI on a busy machine.
var (
	fullMonth = monthScale{users: 5000, days: 22, questions: 200, events: 50, unknownPerDay: 2, noFace: 20}
	ciMonth   = monthScale{users: 300, days: 5, questions: 40, events: 10, unknownPerDay: 1, noFace: 5}
)

// policy is how the directory is kept: the bot's (a stored snapshot, a full read a
// day, events in between) or the old one (a 10-minute snapshot, nothing stored).
type policy struct {
	name   string
	ttl    time.Duration
	stored bool
}

// monthFigures are what a simulated month cost.
type monthFigures struct {
	questions, restarts, refreshes, known, unknown int
	lists, gets, listsOnRestart                    int
	counted                                        feishufake.Usage
	rounds                                         []roundCost
	took                                           time.Duration
}

// roundCost is one reminder round: N people, and the counted calls it made.
type roundCost struct{ people, calls int }

// TestSimulatedMonth runs a working month of the bot against the fake Feishu, once
// with the bot's policy and once with the old one, side by side, and holds the bot
// to issue 12's targets: at most 3,100 list calls in a month (a full read a day),
// none for a restart, none for an update of a known user and one for an unknown
// one, at most 1.02 counted calls per answered question, and a reminder round to N
// people at most N + 10 counted calls. ACSBOT_FULL_MONTH=1 runs the full scale
// (docs/benchmarks.md); otherwise a week at a fifth of it.
func TestSimulatedMonth(t *testing.T) {
	sc := ciMonth
	if os.Getenv("ACSBOT_FULL_MONTH") != "" {
		sc = fullMonth
	}
	if testing.Short() {
		t.Skip("a simulated month takes seconds")
	}
	policies := []policy{{name: "stored, events, 24h", ttl: 24 * time.Hour, stored: true}, {name: "old: 10 min, nothing stored", ttl: 10 * time.Minute}}
	got := make([]monthFigures, len(policies))
	t.Run("policies", func(t *testing.T) {
		for i, p := range policies {
			t.Run(p.name, func(t *testing.T) {
				t.Parallel()
				got[i] = simulateMonth(t, sc, p)
			})
		}
	})
	if t.Failed() {
		return
	}
	for i, p := range policies {
		f := got[i]
		t.Logf("%s: %d days, %d users: %d questions, %d restarts, %d refreshes, %d known and %d unknown updates; "+
			"ACS list calls %d (on restarts %d), user gets %d; counted calls %d %v (%.3f a question); rounds %v; took %v",
			p.name, sc.days, sc.users, f.questions, f.restarts, f.refreshes, f.known, f.unknown,
			f.lists, f.listsOnRestart, f.gets, f.counted.CountedTotal(), f.counted.Counted,
			float64(f.counted.Counted["reply"])/float64(f.questions), f.rounds, f.took.Round(time.Millisecond))
	}
	bot := got[0]
	pages := (sc.users + sc.days*sc.unknownPerDay + 49) / 50
	// A full read a day and one a week for /refresh, of the directory as it grows.
	if limit := (sc.days + bot.refreshes) * pages; bot.lists > limit || sc == fullMonth && bot.lists > 3100 {
		t.Errorf("%d list calls in the month, want at most %d (and 3,100 at full scale)", bot.lists, limit)
	}
	if bot.listsOnRestart != 0 {
		t.Errorf("restarts cost %d list calls, want 0", bot.listsOnRestart)
	}
	if bot.gets != bot.unknown {
		t.Errorf("%d user gets for %d updates of unknown users (and %d of known ones), want one each", bot.gets, bot.unknown, bot.known)
	}
	if per := float64(bot.counted.Counted["reply"]) / float64(bot.questions); per > 1.02 {
		t.Errorf("%.3f counted replies per question, want at most 1.02", per)
	}
	for _, r := range bot.rounds {
		if r.calls > r.people+10 {
			t.Errorf("a round to %d people made %d counted calls, want at most %d", r.people, r.calls, r.people+10)
		}
	}
	if old := got[1]; old.lists <= bot.lists {
		t.Errorf("the old policy read less (%d list calls) than the bot (%d)", old.lists, bot.lists)
	}
}

// simulateMonth runs sc's working days from Thursday 1 October 2026 under p.
func simulateMonth(t *testing.T, sc monthScale, p policy) monthFigures {
	start := time.Now()
	r := rand.New(rand.NewPCG(12, uint64(len(p.name))))
	users := feishufake.GenerateUsers(sc.users, 12)
	for i := range users {
		users[i].FaceUploaded = i >= sc.noFace
	}
	clk := clock.NewFake(bottest.At("2026-10-01", "08:00"))
	b := bottest.New(t, bottest.Options{Clock: clk, Users: users})
	b.Config.ACS.CacheTTL = config.Duration(p.ttl)
	b.Restart()
	ctx := context.Background()
	var f monthFigures
	for _, chat := range []string{bottest.ReaderChat, bottest.OtherChat, bottest.AdminP2P} {
		typ := "group"
		if chat == bottest.AdminP2P {
			typ = "p2p"
		}
		f.questions++
		b.Ask(typ, chat, bottest.AdminID, "/subscribe 09:00")
	}

	ask := func(text string) string {
		f.questions++
		return b.Ask("p2p", bottest.AdminP2P, bottest.AdminID, text)
	}
	questions := []func() string{
		func() string { return ask("/noface") },
		func() string { return ask("/stats") },
		func() string { return ask("/user " + users[r.IntN(len(users))].ID) },
		func() string { return ask("/nocard") },
	}
	restart := func() {
		b.Stop()
		if !p.stored {
			forgetDirectory(t, b.Config.Store.Path)
		}
		lists := b.Fake.Usage().Free["acs_list"]
		b.Start()
		questions[0]()
		f.restarts++
		f.listsOnRestart += b.Fake.Usage().Free["acs_list"] - lists
	}
	update := func(unknown bool) {
		var u acs.User
		if unknown {
			u = acs.User{ID: fmt.Sprintf("ou_newhire%024d", f.unknown), Card: 90000000 + f.unknown, FaceUploaded: f.unknown%4 != 0}
			f.unknown++
		} else {
			u = users[sc.noFace+r.IntN(len(users)-sc.noFace)] // a new card, the face photo kept
			u.Card = 80000000 + f.known
			f.known++
		}
		b.Fake.SetUser(u)
		if status, body := b.Deliver(b.Fake.UserUpdatedEvent(u)); status != 200 {
			t.Fatalf("update event: %d %s", status, body)
		}
	}
	round := func() {
		before := b.Fake.Usage().CountedTotal()
		ev := b.Say("p2p", bottest.AdminP2P, bottest.AdminID, "/remind noface")
		f.questions++
		confirm := b.ReplyTo(bottest.MessageID(t, ev))
		var send map[string]any
		for _, v := range bottest.CallbackValues(t, confirm.Content) {
			if v["a"] == "remind_send" {
				send = v
			}
		}
		if send == nil {
			t.Fatalf("no Send button on the confirm card: %s", confirm.Content)
		}
		sends := b.Fake.Usage().Counted["send"]
		b.Click(bottest.AdminID, bottest.AdminP2P, confirm, send)
		var people int
		b.Eventually("the round's result", func() bool {
			for _, m := range b.Fake.Messages() {
				if m.ID == confirm.ID && strings.Contains(m.Content, "提醒已发送") {
					people = b.Fake.Usage().Counted["send"] - sends
					return true
				}
			}
			return false
		})
		// The confirm card's reply is the question's, not the round's.
		f.rounds = append(f.rounds, roundCost{people: people, calls: b.Fake.Usage().CountedTotal() - before - 1})
	}

	day := bottest.At("2026-10-01", "00:00")
	for worked := 0; worked < sc.days; day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		type action struct {
			at time.Time
			do func()
		}
		at := func(hhmm string) time.Time { return bottest.At(day.Format("2006-01-02"), hhmm) }
		actions := []action{{at("09:00"), func() {
			if err := b.App().Scheduler().Tick(ctx); err != nil {
				t.Errorf("daily summaries: %v", err)
			}
		}}}
		span := 9 * time.Hour
		for q := range sc.questions {
			actions = append(actions, action{at("09:00").Add(time.Duration(q) * span / time.Duration(sc.questions)).Add(time.Second),
				func() { questions[q%len(questions)]() }})
		}
		for e := range sc.events {
			unknown := e < sc.unknownPerDay
			actions = append(actions, action{at("09:00").Add(time.Duration(2*e+1) * span / time.Duration(2*sc.events)),
				func() { update(unknown) }})
		}
		switch worked % 5 {
		case 1:
			actions = append(actions, action{at("10:05"), func() { f.refreshes++; ask("/refresh") }})
		case 2:
			actions = append(actions, action{at("12:05"), restart})
		case 3:
			actions = append(actions, action{at("11:05"), round})
		}
		slices.SortStableFunc(actions, func(a, b action) int { return a.at.Compare(b.at) })
		for _, a := range actions {
			clk.Set(a.at)
			a.do()
			// A read takes no time on the month's clock, as it takes seconds of a
			// working day; the next action waits for it.
			for strings.Contains(get(t, b.URL()+"/healthz"), `"refreshing":true`) {
				time.Sleep(time.Millisecond)
			}
		}
		worked++
	}
	// Calls Feishu answered: the fake's tokens expire on the month's clock, the SDK's
	// cache on the real one, so some calls are refused and made again, which a real
	// month does not do every two hours of a simulated day.
	f.counted = settled(t, b)
	f.lists, f.gets = f.counted.Free["acs_list"], f.counted.Free["acs_get"]
	f.took = time.Since(start)
	return f
}

// forgetDirectory leaves the store without a snapshot the bot can use, as the old
// policy kept none: one of another id type is not loaded.
func forgetDirectory(t *testing.T, path string) {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SaveDirectory(context.Background(), acs.StoredDirectory{UserIDType: "union_id", TakenAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}
