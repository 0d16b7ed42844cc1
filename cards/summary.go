package cards

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"acsbot/acs"
	"acsbot/command"
)

// DayStats are one local day's directory totals.
type DayStats struct {
	Day      string // "2026-11-25"
	Total    int
	WithFace int
	NoFace   int
	NoCard   int
}

// Daily is what a daily summary reports.
type Daily struct {
	Today DayStats
	// Previous is what the chat's previous summary showed; nil for its first.
	Previous *DayStats
	// NoFace is everyone without a face photo, in list order; the card names the
	// first few and links to the whole list.
	NoFace []acs.User
	// Trend is recent days in any order; the card draws the last trendDays.
	Trend []DayStats
	// Doors is yesterday's door line; nil leaves it out.
	Doors *DoorsDay
}

const (
	summaryPeople = 10 // people named on the summary
	trendDays     = 30
)

type summaryText struct {
	title      string
	summary    func(day, coverage string) string
	since      func(day string) string
	first      string
	changes    [4]string // total, with face, no face, no card
	noFaceHead func(shown, total string) string
	showAll    func(total string) string
	allDone    string
	trend      string
}

func summaryStrings(lang command.Lang) summaryText {
	return pick(lang, summaryText{
		title:   "门禁日报",
		summary: func(day, cov string) string { return fmt.Sprintf("门禁日报 %s · 人脸覆盖率 %s", day, cov) },
		since:   func(day string) string { return fmt.Sprintf("较上次日报（%s）：", day) },
		first:   "这是本群的第一份日报，暂无可比较的数据。",
		changes: [4]string{"门禁用户", "已录入人脸", "未录入人脸", "没有门禁卡"},
		noFaceHead: func(shown, total string) string {
			return fmt.Sprintf("**未录入人脸**（前 %s 人，共 %s 人）", shown, total)
		},
		showAll: func(total string) string { return fmt.Sprintf("查看全部 %s 人", total) },
		allDone: "所有人都已录入人脸 🎉",
		trend:   "**近 30 天人脸覆盖率（%）**",
	}, summaryText{
		title: "Daily access control summary",
		summary: func(day, cov string) string {
			return fmt.Sprintf("Access control %s · %s with a face photo", day, cov)
		},
		since:   func(day string) string { return fmt.Sprintf("Since the last summary (%s): ", day) },
		first:   "This is the chat's first summary; there is nothing to compare with yet.",
		changes: [4]string{"people", "with a face photo", "without a face photo", "without a card"},
		noFaceHead: func(shown, total string) string {
			return fmt.Sprintf("**Without a face photo** (first %s of %s)", shown, total)
		},
		showAll: func(total string) string { return fmt.Sprintf("Show all %s", total) },
		allDone: "Everyone has a face photo 🎉",
		trend:   "**Face photo coverage, last 30 days (%)**",
	})
}

// DailySummary is the summary pushed to subscribed chats: today's totals, the
// change since the chat's previous summary, the first people without a face
// photo with a button to the whole list, and the 30-day coverage trend.
func DailySummary(v View, d Daily) Card {
	t := summaryStrings(v.Lang)
	st := statsStrings(v.Lang)
	today := acs.Stats{Total: d.Today.Total, WithFace: d.Today.WithFace, NoFace: d.Today.NoFace, NoCard: d.Today.NoCard}
	c := newCard(t.title, "blue", t.summary(d.Today.Day, percent(today.WithFace, today.Total)),
		statsGrid(st, today),
		md(change(t, d.Today, d.Previous)),
		Hr{Tag: "hr"},
	)
	sub := plain(d.Today.Day)
	c.Header.Subtitle = &sub

	if len(d.NoFace) == 0 {
		c.Body.Elements = append(c.Body.Elements, md(t.allDone))
	} else {
		shown := d.NoFace[:min(len(d.NoFace), summaryPeople)]
		total := count(len(d.NoFace))
		c.Body.Elements = append(c.Body.Elements,
			md(t.noFaceHead(count(len(shown)), total)),
			personList(shown),
			callbackButton(t.showAll(total), "default", PageAction{Kind: NoFace, Page: 1, Lang: v.Lang}.value()),
		)
	}
	if d.Doors != nil {
		c.Body.Elements = append(c.Body.Elements, Hr{Tag: "hr"}, md(doorsLine(v.Lang, *d.Doors)))
	}
	if chart, ok := trendChart(d.Trend); ok {
		c.Body.Elements = append(c.Body.Elements, Hr{Tag: "hr"}, md(t.trend), chart)
	}
	c.Body.Elements = append(c.Body.Elements, v.footer(false)...)
	return c
}

// change is the line comparing today with the previous summary: ▲/▼ and how many.
func change(t summaryText, today DayStats, prev *DayStats) string {
	if prev == nil {
		return t.first
	}
	deltas := [4]int{
		today.Total - prev.Total,
		today.WithFace - prev.WithFace,
		today.NoFace - prev.NoFace,
		today.NoCard - prev.NoCard,
	}
	parts := make([]string, len(deltas))
	for i, d := range deltas {
		parts[i] = t.changes[i] + " " + arrow(d)
	}
	return t.since(prev.Day) + strings.Join(parts, " · ")
}

func arrow(d int) string {
	switch {
	case d > 0:
		return "▲ " + count(d)
	case d < 0:
		return "▼ " + count(-d)
	default:
		return "±0"
	}
}

func personList(users []acs.User) PersonList {
	persons := make([]PersonID, len(users))
	for i, u := range users {
		persons[i] = PersonID{ID: u.ID}
	}
	return PersonList{Tag: "person_list", Persons: persons, Size: "small", ShowAvatar: true, ShowName: true, DropInvalidUserID: true}
}

// lineSpec is the VChart line chart the trend and /usage are drawn with, of
// points P.
type lineSpec[P any] struct {
	Type   string         `json:"type"` // "line"
	Data   []chartData[P] `json:"data"`
	XField string         `json:"xField"`
	YField string         `json:"yField"`
}

type chartData[P any] struct {
	ID     string `json:"id"`
	Values []P    `json:"values"`
}

type coveragePoint struct {
	Day      string  `json:"day"` // "11-25": the year only takes room
	Coverage float64 `json:"coverage"`
}

// shortDay is a chart's label of a day, "11-25": the year only takes room.
func shortDay(day string) string {
	if len(day) == len("2006-01-02") {
		return day[len("2006-"):]
	}
	return day
}

// trendChart draws face photo coverage over the last trendDays days that had
// anyone in the directory. Fewer than two days make no line, so no chart.
func trendChart(days []DayStats) (Chart, bool) {
	var kept []DayStats
	for _, d := range days {
		if d.Total > 0 {
			kept = append(kept, d)
		}
	}
	slices.SortFunc(kept, func(a, b DayStats) int { return cmp.Compare(a.Day, b.Day) })
	kept = kept[max(0, len(kept)-trendDays):]
	if len(kept) < 2 {
		return Chart{}, false
	}
	points := make([]coveragePoint, len(kept))
	for i, d := range kept {
		// Rounded down like percent(), so the line and the numbers agree.
		points[i] = coveragePoint{Day: shortDay(d.Day), Coverage: float64(int64(d.WithFace)*1000/int64(d.Total)) / 10}
	}
	return Chart{
		Tag:         "chart",
		AspectRatio: "2:1",
		Spec: lineSpec[coveragePoint]{
			Type:   "line",
			Data:   []chartData[coveragePoint]{{ID: "coverage", Values: points}},
			XField: "day",
			YField: "coverage",
		},
	}, true
}
