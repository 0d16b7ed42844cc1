package cards

import (
	"fmt"
	"strings"

	"acsbot/command"
	"acsbot/usage"
)

type apiUsageText struct {
	title        string
	counted      func(n string) string
	ofQuota      func(quota, pct, left string) string
	noQuota      string
	exhausted    string
	kinds        map[usage.Kind]string
	free         string
	chart        string
	how          string
	eventsTitle  string
	eventsAdvice string
	warnTitle    string
	warn         func(used, quota, pct, left string) string
	overTitle    string
	over         func(need, left string) string
}

func apiUsageStrings(lang command.Lang) apiUsageText {
	return pick(lang, apiUsageText{
		title:   "飞书 API 用量",
		counted: func(n string) string { return fmt.Sprintf("本月计入用量的调用 **%s 次**", n) },
		ofQuota: func(q, pct, left string) string {
			return fmt.Sprintf("，月度上限 %s 次的 %s，还剩 **%s 次**。", q, pct, left)
		},
		noQuota:   "。未设置月度上限（feishu.monthly_quota）；免费版请设为 10000。",
		exhausted: "**飞书已因本月调用量用完拒绝调用（99991403）**：下月 1 日前机器人无法发送任何消息。",
		kinds: map[usage.Kind]string{
			usage.Reply: "回复", usage.Send: "发送消息", usage.CardUpdate: "更新卡片", usage.Lookup: "查询群和机器人",
			usage.Other: "其他", usage.ACSList: "读取门禁名单（页）", usage.ACSGet: "读取单个门禁用户", usage.ACSOther: "其他门禁调用",
		},
		free:         "不计入用量：",
		chart:        "**每日计入用量的调用**",
		how:          "按飞书的规则统计：只计成功的调用；门禁、鉴权和事件不计入。",
		eventsTitle:  "⚠️ 没有收到门禁用户更新事件",
		eventsAdvice: "请在开发者后台为应用订阅事件 acs.user.updated_v1（权限 acs:users）。在收到事件之前，门禁名单每小时完整读取一次。",
		warnTitle:    "飞书 API 用量已达 80%",
		warn: func(used, q, pct, left string) string {
			return fmt.Sprintf("本月已调用 **%s 次**，为月度上限 %s 次的 %s，还剩 **%s 次**。用完后，下月 1 日前机器人无法回复或发送消息。发送 /usage 查看明细。", used, q, pct, left)
		},
		overTitle: "本月用量不够发送这轮提醒",
		over: func(need, left string) string {
			return fmt.Sprintf("这轮提醒需要发送 **%s 条**私信，本月飞书 API 用量只剩 **%s 次**，所以没有开始。发送 /usage 查看明细。", need, left)
		},
	}, apiUsageText{
		title:   "Feishu API usage",
		counted: func(n string) string { return fmt.Sprintf("**%s counted calls** this month", n) },
		ofQuota: func(q, pct, left string) string {
			return fmt.Sprintf(", %s of the %s monthly quota: **%s left**.", pct, q, left)
		},
		noQuota:   ". No monthly quota is set (feishu.monthly_quota); on the free edition set 10000.",
		exhausted: "**Feishu refuses calls: this month's quota is used up (99991403).** The bot cannot send any message until the 1st.",
		kinds: map[usage.Kind]string{
			usage.Reply: "Replies", usage.Send: "Messages sent", usage.CardUpdate: "Card updates", usage.Lookup: "Chat and bot look-ups",
			usage.Other: "Other", usage.ACSList: "ACS list pages", usage.ACSGet: "ACS user reads", usage.ACSOther: "Other ACS calls",
		},
		free:         "Not counted: ",
		chart:        "**Counted calls a day**",
		how:          "Counted as Feishu counts: successful calls only; ACS, auth and events are free.",
		eventsTitle:  "⚠️ No ACS user update events arrive",
		eventsAdvice: "Subscribe the app to the event acs.user.updated_v1 (scope acs:users) in the developer console. Until one arrives, the directory is read in full every hour.",
		warnTitle:    "Feishu API usage at 80%",
		warn: func(used, q, pct, left string) string {
			return fmt.Sprintf("**%s calls** this month, %s of the %s monthly quota: **%s left**. Once it is used up the bot cannot reply or send anything until the 1st. Send /usage for the details.", used, pct, q, left)
		},
		overTitle: "Not enough quota left for this round",
		over: func(need, left string) string {
			return fmt.Sprintf("This round needs **%s direct messages**, and only **%s** Feishu API calls are left this month, so it did not start. Send /usage for the details.", need, left)
		},
	})
}

// APIUsage answers /usage: this month's counted calls by kind against the quota,
// the free ACS calls apart, a line of calls a day, and a warning when update events do not
// arrive (the directory then costs a full read an hour).
func APIUsage(lang command.Lang, m usage.Month, eventsMissing bool) Card {
	t := apiUsageStrings(lang)
	headline := t.counted(count(m.Counted()))
	if left, ok := m.Left(); ok {
		headline += t.ofQuota(count(m.Quota), percent(m.Counted(), m.Quota), count(left))
	} else {
		headline += t.noQuota
	}
	template := "blue"
	if m.Exhausted {
		template = "red"
	}
	// The chat list shows the summary as plain text.
	c := newCard(t.title, template, strings.ReplaceAll(headline, "**", ""), md(headline))
	sub := plain(m.Month)
	c.Header.Subtitle = &sub
	if m.Exhausted {
		c.Body.Elements = append(c.Body.Elements, md(t.exhausted))
	}
	var ts []tile
	var free []string
	for _, k := range usage.Kinds() {
		n := m.Totals[k]
		switch {
		case k.Counted() && (n > 0 || k != usage.Other):
			ts = append(ts, tile{count(n), t.kinds[k]})
		case !k.Counted() && (n > 0 || k != usage.ACSOther):
			free = append(free, t.kinds[k]+" "+count(n))
		}
	}
	c.Body.Elements = append(c.Body.Elements, tiles("bisect", ts...), md(t.free+strings.Join(free, " · ")))
	if chart, ok := dailyChart(m.Days); ok {
		c.Body.Elements = append(c.Body.Elements, Hr{Tag: "hr"}, md(t.chart), chart)
	}
	if eventsMissing {
		c.Body.Elements = append(c.Body.Elements, Hr{Tag: "hr"}, md("**"+t.eventsTitle+"**"+br+t.eventsAdvice))
	}
	c.Body.Elements = append(c.Body.Elements, note(t.how))
	return c
}

// EventsMissing is the warning /stats adds when update events do not arrive: what
// to subscribe to, and what the bot does meanwhile.
func EventsMissing(lang command.Lang) Element {
	t := apiUsageStrings(lang)
	return md("**" + t.eventsTitle + "**" + br + t.eventsAdvice)
}

// QuotaWarning is the direct message admins get once a month when counted calls
// reach 80 % of feishu.monthly_quota.
func QuotaWarning(lang command.Lang, m usage.Month) Card {
	t := apiUsageStrings(lang)
	left, _ := m.Left()
	text := t.warn(count(m.Counted()), count(m.Quota), percent(m.Counted(), m.Quota), count(left))
	return newCard(t.warnTitle, "orange", t.warnTitle, md(text))
}

// ReminderOverQuota answers /remind when the round's messages would not fit in what
// the month's quota leaves: how many it needs and how many are left. Nothing is sent.
func ReminderOverQuota(lang command.Lang, need, left int) Card {
	t := apiUsageStrings(lang)
	return newCard(t.overTitle, "orange", t.overTitle, md(t.over(count(need), count(left))))
}

type dayCalls struct {
	Day   string `json:"day"` // "11-25"
	Calls int    `json:"calls"`
}

// dailyChart draws the counted calls of each day of the month so far; a month of
// one day makes no chart.
func dailyChart(days []usage.Day) (Chart, bool) {
	if len(days) < 2 {
		return Chart{}, false
	}
	values := make([]dayCalls, len(days))
	for i, d := range days {
		values[i] = dayCalls{Day: shortDay(d.Day), Calls: d.Counted()}
	}
	return Chart{
		Tag:         "chart",
		AspectRatio: "2:1",
		Spec:        lineSpec[dayCalls]{Type: "line", Data: []chartData[dayCalls]{{ID: "calls", Values: values}}, XField: "day", YField: "calls"},
	}, true
}
