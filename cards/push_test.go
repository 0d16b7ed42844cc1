package cards

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/command"
)

// trend is n days of statistics ending on 2026-11-25, coverage slowly rising.
func trend(n int) []DayStats {
	days := make([]DayStats, n)
	last := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for i := range days {
		total := 1200 + i
		withFace := 1000 + 3*i
		days[i] = DayStats{
			Day:   last.AddDate(0, 0, i-n+1).Format("2006-01-02"),
			Total: total, WithFace: withFace, NoFace: total - withFace, NoCard: 60 - i%5,
		}
	}
	return days
}

// daily is a summary of 30 days of trend whose last day has noFace people
// without a face photo.
func daily(prev bool, noFace int) Daily {
	days := trend(30)
	today := &days[len(days)-1]
	today.NoFace, today.WithFace = noFace, today.Total-noFace
	d := Daily{Today: *today, NoFace: noFace2(noFace), Trend: days}
	if prev {
		d.Previous = &days[len(days)-2]
	}
	return d
}

// noFace2 is n users without a face photo.
func noFace2(n int) []acs.User { return noFace(makeUsers(2*n + 1))[:n] }

// pushCases are the cards of the daily summary, subscriptions and reminders.
func pushCases() []goldenCase {
	shanghai := time.FixedZone("CST", 8*3600)
	sentAt := time.Date(2026, 11, 25, 9, 30, 12, 0, shanghai)
	next := time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai)
	subs := []SubscriptionRow{
		{Chat: "Access admins", At: "09:30", By: "ou_admin1", LastSent: sentAt},
		{Chat: "Facilities **team** <at id=all></at>", At: "18:00", By: "ou_admin2", LastSent: sentAt.Add(-24 * time.Hour), LastError: "Bot is not in the chat (code 230002)"},
		{Chat: "oc_5ce6d572455d361153b7xx51da133945", At: "08:00", By: "ou_admin1"},
	}
	users := noFace2(37)
	return []goldenCase{
		{"summary", func(l command.Lang) Card { return DailySummary(view(l, false), daily(true, 134)) }},
		{"summary_first_no_trend", func(l command.Lang) Card {
			d := daily(false, 3)
			d.Trend = d.Trend[len(d.Trend)-1:]
			return DailySummary(view(l, false), d)
		}},
		{"summary_everyone_has_a_face", func(l command.Lang) Card { return DailySummary(view(l, false), daily(true, 0)) }},
		{"subscribed", func(l command.Lang) Card { return Subscribed(l, "Access admins", "09:30", "Asia/Shanghai", next) }},
		{"bad_time", func(l command.Lang) Card { return BadTime(l, "25:99 "+hostile) }},
		{"subscriptions", func(l command.Lang) Card { return Subscriptions(l, "Asia/Shanghai", subs) }},
		{"subscriptions_all_ok", func(l command.Lang) Card { return Subscriptions(l, "Asia/Shanghai", subs[:1]) }},
		{"subscriptions_none", func(l command.Lang) Card { return Subscriptions(l, "Asia/Shanghai", nil) }},
		{"unsubscribed", func(l command.Lang) Card { return Unsubscribed(l, "Access admins", true) }},
		{"unsubscribed_not_subscribed", func(l command.Lang) Card { return Unsubscribed(l, "[x](https://evil.example)", false) }},
		{"reminder_confirm", func(l command.Lang) Card { return ReminderConfirm(l, users, "rm-20261125-abc") }},
		{"reminder_confirm_one", func(l command.Lang) Card { return ReminderConfirm(l, users[:1], "rm-20261125-abd") }},
		{"reminder_confirm_nobody", func(l command.Lang) Card { return ReminderConfirm(l, nil, "rm-20261125-abe") }},
		{"reminder_progress", func(l command.Lang) Card { return ReminderProgress(l, 12, 37) }},
		{"reminder_result", func(l command.Lang) Card {
			return ReminderResult(l, ReminderReport{Sent: 30, Skipped: 5, Failed: []ReminderFailure{
				{UserID: users[0].ID, Reason: "Bot is not available to the user (code 230013)"},
				{UserID: users[1].ID, Reason: "request trigger frequency limit (code 99991400)"},
			}})
		}},
		{"reminder_result_all_sent", func(l command.Lang) Card { return ReminderResult(l, ReminderReport{Sent: 37}) }},
		{"reminder", func(l command.Lang) Card { return Reminder(l) }},
		{"welcome_group", func(l command.Lang) Card { return Welcome(l, testSpecs()[:2], true) }},
		{"welcome_direct", func(l command.Lang) Card { return Welcome(l, testSpecs(), false) }},
	}
}

// summaryBody decodes a summary's elements, keyed loosely for the checks below.
func summaryBody(t *testing.T, c Card) []map[string]any {
	t.Helper()
	raw, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Body struct {
			Elements []map[string]any `json:"elements"`
		} `json:"body"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Body.Elements
}

func TestSummaryChange(t *testing.T) {
	today := DayStats{Day: "2026-11-25", Total: 1203, WithFace: 1100, NoFace: 103, NoCard: 57}
	tests := []struct {
		name string
		lang command.Lang
		prev *DayStats
		want string
	}{
		{"first summary", command.EN, nil, "This is the chat's first summary; there is nothing to compare with yet."},
		{"up, down and flat", command.EN, &DayStats{Day: "2026-11-24", Total: 1200, WithFace: 1088, NoFace: 112, NoCard: 57},
			"Since the last summary (2026-11-24): people ▲ 3 · with a face photo ▲ 12 · without a face photo ▼ 9 · without a card ±0"},
		{"in Chinese, with thousands", command.ZH, &DayStats{Day: "2026-10-01", Total: 3, WithFace: 0, NoFace: 3, NoCard: 1058},
			"较上次日报（2026-10-01）：门禁用户 ▲ 1,200 · 已录入人脸 ▲ 1,100 · 未录入人脸 ▲ 100 · 没有门禁卡 ▼ 1,001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := change(summaryStrings(tt.lang), today, tt.prev); got != tt.want {
				t.Errorf("change() =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

func TestSummaryNamesTheFirstTenAndLinksToTheList(t *testing.T) {
	tests := []struct {
		name   string
		noFace int
		named  int
	}{
		{"more than ten", 134, 10},
		{"exactly ten", 10, 10},
		{"fewer than ten", 3, 3},
		{"nobody", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := daily(true, tt.noFace)
			var named []string
			var showAll map[string]any
			for _, e := range summaryBody(t, DailySummary(view(command.EN, false), d)) {
				switch e["tag"] {
				case "person_list":
					for _, p := range list(e["persons"]) {
						named = append(named, p.(map[string]any)["id"].(string))
					}
				case "button":
					showAll = list(e["behaviors"])[0].(map[string]any)["value"].(map[string]any)
				}
			}
			if want := ids(d.NoFace[:tt.named]); !slices.Equal(named, want) {
				t.Errorf("summary names %v, want the first %d: %v", named, tt.named, want)
			}
			if tt.noFace == 0 {
				if showAll != nil {
					t.Errorf("show-all button %v with nobody to show", showAll)
				}
				return
			}
			got, ok := ParsePageAction(showAll)
			if !ok || got != (PageAction{Kind: NoFace, Page: 1, Lang: command.EN}) {
				t.Errorf("show-all value %v parses to %+v, %v; want page 1 of the no-face list in en_us", showAll, got, ok)
			}
		})
	}
}

func TestTrendChart(t *testing.T) {
	shuffled := trend(40)
	slices.Reverse(shuffled)
	withEmpty := trend(5)
	withEmpty[2] = DayStats{Day: withEmpty[2].Day} // a day the directory was empty
	tests := []struct {
		name      string
		days      []DayStats
		wantDays  []string
		wantFirst float64
	}{
		{"none", nil, nil, 0},
		{"one day is no line", trend(1), nil, 0},
		{"two days", trend(2), []string{"11-24", "11-25"}, 83.3},
		{"the last 30 of 40, oldest first, whatever the input order", shuffled, dayLabels(trend(30)), 85.1},
		{"days with nobody are left out", withEmpty, []string{"11-21", "11-22", "11-24", "11-25"}, 83.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := slices.Clone(tt.days)
			c, ok := trendChart(tt.days)
			if !slices.Equal(input, tt.days) {
				t.Error("trendChart changed its input")
			}
			if ok != (tt.wantDays != nil) {
				t.Fatalf("chart drawn = %v, want %v", ok, tt.wantDays != nil)
			}
			if !ok {
				return
			}
			points := c.Spec.(lineSpec[coveragePoint]).Data[0].Values
			var got []string
			for _, p := range points {
				got = append(got, p.Day)
			}
			if !slices.Equal(got, tt.wantDays) {
				t.Errorf("days %v, want %v", got, tt.wantDays)
			}
			if points[0].Coverage != tt.wantFirst {
				t.Errorf("first coverage %v, want %v", points[0].Coverage, tt.wantFirst)
			}
		})
	}
}

func dayLabels(days []DayStats) []string {
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = d.Day[5:]
	}
	return out
}

func TestParseReminderAction(t *testing.T) {
	long := strings.Repeat("x", maxActionID+1)
	tests := []struct {
		name  string
		value map[string]any
		want  ReminderAction
		ok    bool
	}{
		{"send", map[string]any{"a": "remind_send", "id": "rm-1"}, ReminderAction{Send: true, ID: "rm-1"}, true},
		{"cancel", map[string]any{"a": "remind_cancel", "id": "rm-1"}, ReminderAction{ID: "rm-1"}, true},
		{"nil", nil, ReminderAction{}, false},
		{"page action", map[string]any{"a": "page", "q": "noface", "p": float64(1)}, ReminderAction{}, false},
		{"unknown verb", map[string]any{"a": "remind_all", "id": "rm-1"}, ReminderAction{}, false},
		{"no id", map[string]any{"a": "remind_send"}, ReminderAction{}, false},
		{"empty id", map[string]any{"a": "remind_send", "id": ""}, ReminderAction{}, false},
		{"id not a string", map[string]any{"a": "remind_send", "id": float64(7)}, ReminderAction{}, false},
		{"oversized id", map[string]any{"a": "remind_send", "id": long}, ReminderAction{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseReminderAction(tt.value)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseReminderAction(%v) = %+v, %v; want %+v, %v", tt.value, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestReminderButtonsCarryTheActionID: Send and Cancel, echoed back by Feishu,
// parse to the action the card was built for.
func TestReminderButtonsCarryTheActionID(t *testing.T) {
	var got []ReminderAction
	for _, e := range summaryBody(t, ReminderConfirm(command.EN, noFace2(3), "rm-42")) {
		if e["tag"] != "column_set" {
			continue
		}
		for _, col := range list(e["columns"]) {
			button := list(col.(map[string]any)["elements"])[0].(map[string]any)
			value := list(button["behaviors"])[0].(map[string]any)["value"].(map[string]any)
			a, ok := ParseReminderAction(value)
			if !ok {
				t.Fatalf("button value %v does not parse", value)
			}
			got = append(got, a)
		}
	}
	want := []ReminderAction{{Send: true, ID: "rm-42"}, {ID: "rm-42"}}
	if !slices.Equal(got, want) {
		t.Errorf("buttons carry %+v, want %+v", got, want)
	}
}

func TestSubscriptionsMarksFailingChats(t *testing.T) {
	subs := []SubscriptionRow{
		{Chat: "ok", At: "09:00", By: "ou_1", LastSent: now},
		{Chat: "broken", At: "10:00", By: "ou_1", LastSent: now, LastError: "bot removed"},
		{Chat: "new", At: "11:00", By: "ou_1"},
	}
	c := Subscriptions(command.EN, "Asia/Shanghai", subs)
	if c.Header.Template != "red" || len(c.Header.TextTagList) != 1 || c.Header.TextTagList[0].Text.Content != "1 failing" {
		t.Errorf("header %+v, want red with a \"1 failing\" tag", *c.Header)
	}
	rows := c.Body.Elements[0].(Table).Rows.([]subscriptionRow)
	want := []struct{ status, err string }{{"OK", ""}, {"failed", "bot removed"}, {"waiting for the first", ""}}
	for i, w := range want {
		if rows[i].Status[0].Text != w.status || rows[i].Error != w.err {
			t.Errorf("row %d (%s): status %q error %q, want %q %q", i, rows[i].Chat, rows[i].Status[0].Text, rows[i].Error, w.status, w.err)
		}
	}
}

// TestPushCardsStayInsideTheLimits builds the push cards from inputs far larger
// than a real tenant's and checks Feishu would still take them.
func TestPushCardsStayInsideTheLimits(t *testing.T) {
	many := noFace2(100_000)
	subs := make([]SubscriptionRow, 5000)
	for i := range subs {
		subs[i] = SubscriptionRow{Chat: strings.Repeat("群", 300), At: "09:00", By: fmt.Sprintf("ou_%032x", i), LastSent: now, LastError: strings.Repeat("e", 1000)}
	}
	failures := make([]ReminderFailure, 10_000)
	for i := range failures {
		failures[i] = ReminderFailure{UserID: fmt.Sprintf("ou_%032x", i), Reason: strings.Repeat("失败", 500)}
	}
	long := strings.Repeat("<at id=all>", 1000)
	cases := map[string]func(command.Lang) Card{
		"summary": func(l command.Lang) Card {
			d := daily(true, 10)
			d.NoFace, d.Trend = many, trend(3650)
			return DailySummary(view(l, true), d)
		},
		"subscriptions":    func(l command.Lang) Card { return Subscriptions(l, "Asia/Shanghai", subs) },
		"reminder_confirm": func(l command.Lang) Card { return ReminderConfirm(l, many, "rm-1") },
		"reminder_result": func(l command.Lang) Card {
			return ReminderResult(l, ReminderReport{Sent: 90_000, Failed: failures})
		},
		"subscribed":   func(l command.Lang) Card { return Subscribed(l, long, "09:00", "Asia/Shanghai", now) },
		"bad_time":     func(l command.Lang) Card { return BadTime(l, long) },
		"unsubscribed": func(l command.Lang) Card { return Unsubscribed(l, long, true) },
		"usage":        func(l command.Lang) Card { return Usage(l, testSpecs()[3], long) },
		"person":       func(l command.Lang) Card { return Person(view(l, false), long, acs.User{}, false) },
		"error":        func(l command.Lang) Card { return Error(l, 1, long) },
		"card_lookup": func(l command.Lang) Card {
			return CardLookup(view(l, true), 5, makeUsers(100_000))
		},
	}
	for name, build := range cases {
		for _, lang := range langs {
			t.Run(name+"_"+string(lang), func(t *testing.T) { checkCard(t, build(lang)) })
		}
	}
}
