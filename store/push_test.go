package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestSubscribe(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	steps := []struct {
		chat, at, by string
		now          time.Time
	}{
		{"oc_b", "09:00", "ou_admin1", t0},
		{"oc_a", "18:30", "ou_admin1", t0.Add(time.Minute)},
		{"oc_b", "07:45", "ou_admin2", t0.Add(time.Hour)}, // re-subscribe: new time, new subscriber
		{"oc_c", "07:45", "ou_admin2", t0.Add(2 * time.Hour)},
	}
	for _, st := range steps {
		if err := s.Subscribe(ctx, st.chat, st.at, st.by, st.now); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Subscription{ // by time of day, then chat
		{ChatID: "oc_b", At: "07:45", By: "ou_admin2", CreatedAt: t0},
		{ChatID: "oc_c", At: "07:45", By: "ou_admin2", CreatedAt: t0.Add(2 * time.Hour)},
		{ChatID: "oc_a", At: "18:30", By: "ou_admin1", CreatedAt: t0.Add(time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("Subscriptions = %+v\nwant %+v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.ChatID != w.ChatID || g.At != w.At || g.By != w.By || !g.CreatedAt.Equal(w.CreatedAt) ||
			g.LastSentDay != "" || !g.LastSentAt.IsZero() || g.LastError != "" || g.LastStats != nil {
			t.Errorf("Subscriptions[%d] = %+v\nwant %+v", i, g, w)
		}
	}

	for _, tc := range []struct {
		name, chat, at, by string
	}{
		{"one-digit hour", "oc_x", "9:30", "ou_a"},
		{"hour 24", "oc_x", "24:00", "ou_a"},
		{"minute 60", "oc_x", "09:60", "ou_a"},
		{"no colon", "oc_x", "0930", "ou_a"},
		{"seconds", "oc_x", "09:30:00", "ou_a"},
		{"empty time", "oc_x", "", "ou_a"},
		{"empty chat", "", "09:30", "ou_a"},
		{"empty subscriber", "oc_x", "09:30", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Subscribe(ctx, tc.chat, tc.at, tc.by, t0); err == nil {
				t.Errorf("Subscribe(%q, %q, %q) succeeded", tc.chat, tc.at, tc.by)
			}
		})
	}
	if got, err := s.Subscriptions(ctx); err != nil || len(got) != len(want) {
		t.Errorf("after rejected subscribes: %d subscriptions, %v; want %d", len(got), err, len(want))
	}
}

func TestUnsubscribeKeepsHistory(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const day = "2026-11-25"
	sent := DayStats{Day: day, Total: 10, WithFace: 8, NoFace: 2, NoCard: 1}
	if err := s.Subscribe(ctx, "oc_a", "09:00", "ou_admin", t0); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.BeginPush(ctx, "oc_a", day, t0); err != nil || !ok {
		t.Fatalf("BeginPush = %v, %v", ok, err)
	}
	if err := s.FinishPush(ctx, "oc_a", day, sent, t0); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name        string
		wantExisted bool
	}{
		{"subscribed", true},
		{"already gone", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			existed, err := s.Unsubscribe(ctx, "oc_a")
			if err != nil || existed != tc.wantExisted {
				t.Errorf("Unsubscribe = %v, %v; want %v", existed, err, tc.wantExisted)
			}
			if subs, err := s.Subscriptions(ctx); err != nil || len(subs) != 0 {
				t.Errorf("Subscriptions = %+v, %v; want none", subs, err)
			}
		})
	}

	t.Run("re-subscribed the same day", func(t *testing.T) {
		if err := s.Subscribe(ctx, "oc_a", "17:00", "ou_admin", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.BeginPush(ctx, "oc_a", day, t0.Add(8*time.Hour)); err != nil || ok {
			t.Errorf("second summary the same day: BeginPush = %v, %v; want false", ok, err)
		}
		subs, err := s.Subscriptions(ctx)
		if err != nil || len(subs) != 1 {
			t.Fatalf("Subscriptions = %+v, %v", subs, err)
		}
		if subs[0].LastSentDay != day || subs[0].LastStats == nil || *subs[0].LastStats != sent {
			t.Errorf("history after re-subscribing = %+v, want the push of %s", subs[0], day)
		}
	})
}

func TestBeginPushOncePerChatPerDay(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for _, tc := range []struct {
		name   string
		claims func(i int) (chat, day string)
		wantOK int
	}{
		{"20 concurrent claims of one chat and day", func(int) (string, string) { return "oc_a", "2026-11-25" }, 1},
		{"the same chat and day again later", func(int) (string, string) { return "oc_a", "2026-11-25" }, 0},
		{"20 chats, one day", func(i int) (string, string) { return fmt.Sprintf("oc_%d", i), "2026-11-25" }, 20},
		{"one chat, 20 days", func(i int) (string, string) { return "oc_a", fmt.Sprintf("2026-12-%02d", i+1) }, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			won := countWins(t, 20, func(i int) (bool, error) {
				chat, day := tc.claims(i)
				return s.BeginPush(ctx, chat, day, t0)
			})
			if won != tc.wantOK {
				t.Errorf("%d claims won, want %d", won, tc.wantOK)
			}
		})
	}

	t.Run("failed day stays claimed", func(t *testing.T) {
		if ok, err := s.BeginPush(ctx, "oc_f", "2026-11-25", t0); err != nil || !ok {
			t.Fatalf("BeginPush = %v, %v", ok, err)
		}
		if err := s.FailPush(ctx, "oc_f", "2026-11-25", "bot is not in the chat", t0); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.BeginPush(ctx, "oc_f", "2026-11-25", t0.Add(time.Hour)); err != nil || ok {
			t.Errorf("BeginPush after a failed send = %v, %v; want false", ok, err)
		}
	})

	for _, bad := range []string{"", "2026-1-25", "25.11.2026", "2026-02-30", "2026-11-25T00:00"} {
		t.Run("invalid day "+bad, func(t *testing.T) {
			if _, err := s.BeginPush(ctx, "oc_a", bad, t0); err == nil {
				t.Errorf("BeginPush(%q) succeeded", bad)
			}
		})
	}
}

func TestPushOutcomes(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.Subscribe(ctx, "oc_a", "09:00", "ou_admin", t0); err != nil {
		t.Fatal(err)
	}
	day1 := DayStats{Day: "2026-11-25", Total: 100, WithFace: 90, NoFace: 10, NoCard: 5}
	day3 := DayStats{Day: "2026-11-27", Total: 101, WithFace: 95, NoFace: 6, NoCard: 4}
	type outcome struct {
		sent   *DayStats // FinishPush with these
		reason string    // else FailPush with this
	}
	for _, tc := range []struct {
		name     string
		day      string
		at       time.Duration // after t0
		outcome  outcome
		wantDay  string
		wantErr  string
		wantLast *DayStats
	}{
		{"first summary sent", "2026-11-25", time.Hour, outcome{sent: &day1}, "2026-11-25", "", &day1},
		{"next day fails", "2026-11-26", 25 * time.Hour, outcome{reason: "230002: bot not in chat"}, "2026-11-25", "230002: bot not in chat", &day1},
		{"then one is sent again", "2026-11-27", 49 * time.Hour, outcome{sent: &day3}, "2026-11-27", "", &day3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := t0.Add(tc.at)
			if ok, err := s.BeginPush(ctx, "oc_a", tc.day, now); err != nil || !ok {
				t.Fatalf("BeginPush = %v, %v", ok, err)
			}
			var err error
			if tc.outcome.sent != nil {
				err = s.FinishPush(ctx, "oc_a", tc.day, *tc.outcome.sent, now)
			} else {
				err = s.FailPush(ctx, "oc_a", tc.day, tc.outcome.reason, now)
			}
			if err != nil {
				t.Fatal(err)
			}
			subs, err := s.Subscriptions(ctx)
			if err != nil || len(subs) != 1 {
				t.Fatalf("Subscriptions = %+v, %v", subs, err)
			}
			sub := subs[0]
			if sub.LastSentDay != tc.wantDay || sub.LastError != tc.wantErr ||
				sub.LastStats == nil || *sub.LastStats != *tc.wantLast {
				t.Errorf("subscription = %+v (stats %+v)\nwant day %s, error %q, stats %+v",
					sub, sub.LastStats, tc.wantDay, tc.wantErr, *tc.wantLast)
			}
			if tc.outcome.sent != nil && !sub.LastSentAt.Equal(now) {
				t.Errorf("LastSentAt = %v, want %v", sub.LastSentAt, now)
			}
		})
	}

	for _, tc := range []struct {
		name string
		end  func() error
	}{
		{"finish without a claim", func() error { return s.FinishPush(ctx, "oc_a", "2026-12-01", day1, t0) }},
		{"fail without a claim", func() error { return s.FailPush(ctx, "oc_a", "2026-12-01", "x", t0) }},
		{"finish twice", func() error { return s.FinishPush(ctx, "oc_a", "2026-11-25", day3, t0) }},
		{"fail after finish", func() error { return s.FailPush(ctx, "oc_a", "2026-11-27", "late", t0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.end(); !errors.Is(err, ErrNotClaimed) {
				t.Errorf("err = %v, want ErrNotClaimed", err)
			}
		})
	}

	t.Run("invalid outcomes", func(t *testing.T) {
		if ok, err := s.BeginPush(ctx, "oc_a", "2026-12-02", t0); err != nil || !ok {
			t.Fatalf("BeginPush = %v, %v", ok, err)
		}
		if err := s.FailPush(ctx, "oc_a", "2026-12-02", "", t0); err == nil {
			t.Error("FailPush with no reason succeeded")
		}
		if err := s.FinishPush(ctx, "oc_a", "2026-12-02", DayStats{Day: "today"}, t0); err == nil {
			t.Error("FinishPush with a bad stats day succeeded")
		}
		// Neither rejected call may have ended the claim.
		if err := s.FinishPush(ctx, "oc_a", "2026-12-02", day3, t0); err != nil {
			t.Errorf("FinishPush after rejected calls: %v", err)
		}
	})
}

func TestPendingPushes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "acsbot.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, chat := range []string{"oc_a", "oc_b", "oc_c", "oc_gone"} {
		if err := s.Subscribe(ctx, chat, "09:00", "ou_admin", t0); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(chat, day string, at time.Duration) {
		t.Helper()
		if ok, err := s.BeginPush(ctx, chat, day, t0.Add(at)); err != nil || !ok {
			t.Fatalf("BeginPush(%s, %s) = %v, %v", chat, day, ok, err)
		}
	}
	claim("oc_b", "2026-11-25", 2*time.Minute) // crashed mid-send
	claim("oc_a", "2026-11-25", time.Minute)   // crashed mid-send, earlier
	claim("oc_c", "2026-11-25", 0)             // sent
	claim("oc_gone", "2026-11-25", 0)          // crashed, then the bot left the chat
	if err := s.FinishPush(ctx, "oc_c", "2026-11-25", DayStats{Day: "2026-11-25"}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unsubscribe(ctx, "oc_gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.PendingPushes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []PushClaim{
		{ChatID: "oc_a", Day: "2026-11-25", ClaimedAt: t0.Add(time.Minute)},
		{ChatID: "oc_b", Day: "2026-11-25", ClaimedAt: t0.Add(2 * time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("PendingPushes = %+v\nwant %+v", got, want)
	}
	for i, w := range want {
		if got[i].ChatID != w.ChatID || got[i].Day != w.Day || !got[i].ClaimedAt.Equal(w.ClaimedAt) {
			t.Errorf("PendingPushes[%d] = %+v, want %+v", i, got[i], w)
		}
	}
	if err := s.FinishPush(ctx, "oc_a", "2026-11-25", DayStats{Day: "2026-11-25"}, t0); err != nil {
		t.Errorf("finishing a resumed claim: %v", err)
	}
}

func TestPushClaimUUID(t *testing.T) {
	const chat = "oc_5ad11d72b830411d72b836c20b1b7fb4" // the usual 35 characters
	base := PushClaim{ChatID: chat, Day: "2026-11-25"}
	for _, tc := range []struct {
		name     string
		other    PushClaim
		wantSame bool
	}{
		{"same chat and day, claimed at another time", PushClaim{ChatID: chat, Day: "2026-11-25", ClaimedAt: t0}, true},
		{"next day", PushClaim{ChatID: chat, Day: "2026-11-26"}, false},
		{"other chat", PushClaim{ChatID: chat + "x", Day: "2026-11-25"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if same := base.UUID() == tc.other.UUID(); same != tc.wantSame {
				t.Errorf("%q vs %q: same = %v, want %v", base.UUID(), tc.other.UUID(), same, tc.wantSame)
			}
		})
	}
	u := base.UUID()
	if !regexp.MustCompile(`^ds-20261125-[0-9a-f]{16}$`).MatchString(u) || len(u) > 50 {
		t.Errorf("UUID = %q, want ds-YYYYMMDD-<16 hex>, at most 50 characters", u)
	}
}

func TestDayStats(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	day := func(d int) string { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly) }
	// Written out of order, one day twice: the later scan of a day replaces it.
	for _, st := range []DayStats{
		{Day: day(20), Total: 100, WithFace: 80, NoFace: 20, NoCard: 7},
		{Day: day(3), Total: 90, WithFace: 60, NoFace: 30, NoCard: 9},
		{Day: day(10), Total: 95, WithFace: 70, NoFace: 25, NoCard: 8},
		{Day: day(20), Total: 101, WithFace: 85, NoFace: 16, NoCard: 6},
		{Day: "2026-12-01", Total: 102, WithFace: 90, NoFace: 12, NoCard: 5},
	} {
		if err := s.RecordDayStats(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		since string
		want  []string // days, with the figures checked below
	}{
		{"everything", "2026-01-01", []string{day(3), day(10), day(20), "2026-12-01"}},
		{"from a stored day, inclusive", day(10), []string{day(10), day(20), "2026-12-01"}},
		{"from a day without a row", day(11), []string{day(20), "2026-12-01"}},
		{"across the month", "2026-11-30", []string{"2026-12-01"}},
		{"future", "2027-01-01", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.DayStatsSince(ctx, tc.since)
			if err != nil {
				t.Fatal(err)
			}
			var days []string
			for _, st := range got {
				days = append(days, st.Day)
			}
			if fmt.Sprint(days) != fmt.Sprint(tc.want) {
				t.Errorf("days = %v, want %v", days, tc.want)
			}
			for _, st := range got {
				if st.Day == day(20) && st != (DayStats{Day: day(20), Total: 101, WithFace: 85, NoFace: 16, NoCard: 6}) {
					t.Errorf("%s = %+v, want the later scan", st.Day, st)
				}
			}
		})
	}

	for _, tc := range []struct {
		name string
		st   DayStats
	}{
		{"no day", DayStats{Total: 1}},
		{"bad day", DayStats{Day: "2026/11/25"}},
		{"negative count", DayStats{Day: day(4), NoFace: -1}},
	} {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			if err := s.RecordDayStats(ctx, tc.st); err == nil {
				t.Errorf("RecordDayStats(%+v) succeeded", tc.st)
			}
		})
	}
	if _, err := s.DayStatsSince(ctx, "last month"); err == nil {
		t.Error("DayStatsSince with a bad day succeeded")
	}
}
