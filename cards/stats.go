package cards

import (
	"fmt"
	"time"

	"acsbot/acs"
	"acsbot/command"
)

type statsText struct {
	title, total, withFace, noFace, noCard string
	summary                                func(total, coverage string) string
	refreshedTitle                         string
	refreshed                              func(people, took string) string
}

func statsStrings(lang command.Lang) statsText {
	return pick(lang, statsText{
		title:          "门禁概况",
		total:          "门禁用户",
		withFace:       "已录入人脸",
		noFace:         "未录入人脸",
		noCard:         "没有门禁卡",
		summary:        func(total, cov string) string { return fmt.Sprintf("共 %s 人 · 人脸覆盖率 %s", total, cov) },
		refreshedTitle: "门禁名单已刷新",
		refreshed: func(people, took string) string {
			return fmt.Sprintf("已重新读取全部 %s 人，用时 %s。", people, took)
		},
	}, statsText{
		title:          "Access control overview",
		total:          "People in access groups",
		withFace:       "With a face photo",
		noFace:         "Without a face photo",
		noCard:         "Without an access card",
		summary:        func(total, cov string) string { return fmt.Sprintf("%s people · %s with a face photo", total, cov) },
		refreshedTitle: "Directory refreshed",
		refreshed:      func(people, took string) string { return fmt.Sprintf("Read all %s people again in %s.", people, took) },
	})
}

// Stats shows the directory totals: everyone, with and without a face photo,
// without a card, how old the numbers are, and what to subscribe to when update
// events do not arrive.
func Stats(v View, s acs.Stats) Card {
	t := statsStrings(v.Lang)
	c := newCard(t.title, "blue", t.summary(count(s.Total), percent(s.WithFace, s.Total)), statsGrid(t, s))
	if v.EventsMissing {
		c.Body.Elements = append(c.Body.Elements, EventsMissing(v.Lang))
	}
	c.Body.Elements = append(c.Body.Elements, v.footer(false)...)
	return c
}

// Refreshed answers /refresh: the new totals and how long the scan took.
func Refreshed(v View, s acs.Stats, took time.Duration) Card {
	t := statsStrings(v.Lang)
	c := newCard(t.refreshedTitle, "green", t.refreshedTitle,
		md(t.refreshed(count(s.Total), duration(v.Lang, took))),
		statsGrid(t, s),
	)
	c.Body.Elements = append(c.Body.Elements, v.footer(false)...)
	return c
}

// statsGrid shows the four totals as tiles, two a row on a narrow screen.
func statsGrid(t statsText, s acs.Stats) ColumnSet {
	return tiles("bisect",
		tile{count(s.Total), t.total},
		tile{fmt.Sprintf("%s (%s)", count(s.WithFace), percent(s.WithFace, s.Total)), t.withFace},
		tile{count(s.NoFace), t.noFace},
		tile{count(s.NoCard), t.noCard},
	)
}

// tile is one big number with its label.
type tile struct{ value, label string }

// tiles lays numbers out side by side, equally wide; flexMode says how they wrap
// on a narrow screen ("" lets them shrink).
func tiles(flexMode string, ts ...tile) ColumnSet {
	cols := make([]Column, len(ts))
	for i, t := range ts {
		cols[i] = Column{Tag: "column", Width: "weighted", Weight: 1, Elements: []Element{
			Markdown{Tag: "markdown", Content: "**" + t.value + "**" + br + t.label, TextAlign: "center"},
		}}
	}
	return ColumnSet{Tag: "column_set", FlexMode: flexMode, Columns: cols}
}
