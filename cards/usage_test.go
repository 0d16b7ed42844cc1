package cards

import (
	"fmt"

	"acsbot/acs"
	"acsbot/command"
	"acsbot/usage"
)

// testMonth is November 2026 through the 25th: a few replies and a summary a day,
// a reminder round on the 16th, a full read of 100 pages a day.
func testMonth(quota int, exhausted bool) usage.Month {
	m := usage.Month{Month: "2026-11", Quota: quota, Exhausted: exhausted, Totals: map[usage.Kind]int{}}
	for d := 1; d <= 25; d++ {
		calls := map[usage.Kind]int{usage.Reply: 150 + d%7*10, usage.Send: 3, usage.ACSList: 100}
		if d == 16 {
			calls[usage.Send] += 400
			calls[usage.CardUpdate] = 10
		}
		if d == 1 {
			calls[usage.Lookup] = 2
			calls[usage.ACSGet] = 4
		}
		for k, n := range calls {
			m.Totals[k] += n
		}
		m.Days = append(m.Days, usage.Day{Day: fmt.Sprintf("2026-11-%02d", d), Calls: calls})
	}
	return m
}

// usageCases are the /usage card, the quota warning and a refused round.
func usageCases() []goldenCase {
	return []goldenCase{
		{"api_usage_quota", func(l command.Lang) Card { return APIUsage(l, testMonth(10000, false), false) }},
		{"api_usage_no_quota_events_missing", func(l command.Lang) Card { return APIUsage(l, testMonth(0, false), true) }},
		{"api_usage_exhausted_first_day", func(l command.Lang) Card {
			m := testMonth(10000, true)
			m.Days = m.Days[:1]
			return APIUsage(l, m, false)
		}},
		{"quota_warning", func(l command.Lang) Card { return QuotaWarning(l, testMonth(5800, false)) }},
		{"reminder_over_quota", func(l command.Lang) Card { return ReminderOverQuota(l, 412, 230) }},
		{"stats_events_missing", func(l command.Lang) Card {
			v := view(l, false)
			v.EventsMissing = true
			return Stats(v, acs.Stats{Total: 1234, WithFace: 1100, NoFace: 134, NoCard: 57})
		}},
	}
}
