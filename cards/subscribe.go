package cards

import (
	"fmt"
	"time"

	"acsbot/command"
)

// stamp is how subscription cards write a moment: local time, to the minute.
const stamp = "2006-01-02 15:04"

type subscribeText struct {
	title      string
	subscribed func(chat, at, tz, next string) string
	hint       string
	badTitle   string
	badTime    func(input string) string
	unsubTitle string
	unsub      func(chat string) string
	notSub     func(chat string) string
}

func subscribeStrings(lang command.Lang) subscribeText {
	return pick(lang, subscribeText{
		title: "已订阅门禁日报",
		subscribed: func(chat, at, tz, next string) string {
			return fmt.Sprintf("“%s” 将在每天 **%s**（%s）收到门禁日报。"+br+"下一份：%s", chat, at, tz, next)
		},
		hint:     "用 /subscribe HH:MM 修改时间，用 /unsubscribe 取消订阅。",
		badTitle: "时间格式不对",
		badTime: func(input string) string {
			return fmt.Sprintf("“%s” 不是有效的时间。请用 24 小时制的 HH:MM，例如 /subscribe 09:30。", input)
		},
		unsubTitle: "已取消门禁日报",
		unsub:      func(chat string) string { return fmt.Sprintf("“%s” 不会再收到门禁日报。", chat) },
		notSub:     func(chat string) string { return fmt.Sprintf("“%s” 本来就没有订阅门禁日报。", chat) },
	}, subscribeText{
		title: "Daily summary subscribed",
		subscribed: func(chat, at, tz, next string) string {
			return fmt.Sprintf("“%s” will get the access control summary every day at **%s** (%s)."+br+"Next summary: %s", chat, at, tz, next)
		},
		hint:     "Change the time with /subscribe HH:MM; stop with /unsubscribe.",
		badTitle: "Check the time",
		badTime: func(input string) string {
			return fmt.Sprintf("“%s” is not a time of day. Use 24-hour HH:MM, e.g. /subscribe 09:30.", input)
		},
		unsubTitle: "Daily summary unsubscribed",
		unsub:      func(chat string) string { return fmt.Sprintf("“%s” will no longer get the daily summary.", chat) },
		notSub: func(chat string) string {
			return fmt.Sprintf("“%s” was not subscribed to the daily summary.", chat)
		},
	})
}

// Subscribed confirms /subscribe: which chat, at what local time in which time
// zone, and when the next summary comes. chat is the chat's name (users name
// chats, so it is escaped); next is shown in its own location.
func Subscribed(lang command.Lang, chat, at, tz string, next time.Time) Card {
	t := subscribeStrings(lang)
	return newCard(t.title, "green", t.title,
		md(t.subscribed(echo(chat), EscapeMarkdown(at), EscapeMarkdown(tz), next.Format(stamp))),
		note(t.hint),
	)
}

// BadTime answers /subscribe with a time that is not HH:MM; input is repeated
// safely.
func BadTime(lang command.Lang, input string) Card {
	t := subscribeStrings(lang)
	return newCard(t.badTitle, "orange", t.badTitle, md(t.badTime(echo(input))))
}

// Unsubscribed confirms /unsubscribe; existed says whether the chat had a
// subscription to cancel.
func Unsubscribed(lang command.Lang, chat string, existed bool) Card {
	t := subscribeStrings(lang)
	text := t.notSub(echo(chat))
	if existed {
		text = t.unsub(echo(chat))
	}
	return newCard(t.unsubTitle, "grey", t.unsubTitle, md(text))
}

// SubscriptionRow is one subscribed chat on the /subscriptions card.
type SubscriptionRow struct {
	Chat      string    // the chat's name, or its id if the name is unknown
	At        string    // "HH:MM"
	By        string    // id of the admin who set it
	LastSent  time.Time // zero: nothing sent yet; shown in its own location
	LastError string    // why the latest push failed; "" if it did not
}

type subscriptionsText struct {
	title, empty, never                  string
	tz                                   func(tz string) string
	failing                              func(n int) string
	colChat, colAt, colBy, colSent, colS string
	colError                             string
	ok, failed, waiting                  string
	more                                 func(n string) string
}

func subscriptionsStrings(lang command.Lang) subscriptionsText {
	return pick(lang, subscriptionsText{
		title:   "门禁日报订阅",
		empty:   "还没有群订阅门禁日报。在群里发送 /subscribe [HH:MM] 即可订阅。",
		never:   "从未发送",
		tz:      func(tz string) string { return "时间为 " + tz },
		failing: func(n int) string { return fmt.Sprintf("%d 个失败", n) },
		colChat: "群", colAt: "时间", colBy: "订阅人", colSent: "上次发送", colS: "状态", colError: "失败原因",
		ok: "正常", failed: "失败", waiting: "等待首次发送",
		more: func(n string) string { return fmt.Sprintf("另有 %s 个订阅未显示。", n) },
	}, subscriptionsText{
		title:   "Daily summary subscriptions",
		empty:   "No chat is subscribed yet. Send /subscribe [HH:MM] in a chat to subscribe it.",
		never:   "never",
		tz:      func(tz string) string { return "Times in " + tz },
		failing: func(n int) string { return plural(n, "1 failing", "%s failing") },
		colChat: "Chat", colAt: "Time", colBy: "By", colSent: "Last sent", colS: "Status", colError: "Why it failed",
		ok: "OK", failed: "failed", waiting: "waiting for the first",
		more: func(n string) string { return fmt.Sprintf("%s more subscriptions not shown.", n) },
	})
}

// subscriptionsShown bounds the table so the card stays under 30 KB even with
// long Chinese chat names and errors (both clipped).
const subscriptionsShown = 50

// subscriptionRow is a SubscriptionRow as a table row. Table text cells are not
// markdown, so chat names and errors need no escaping there.
type subscriptionRow struct {
	Chat   string      `json:"chat"`
	At     string      `json:"at"`
	By     string      `json:"by,omitempty"`
	Sent   string      `json:"sent"`
	Status []OptionTag `json:"status"`
	Error  string      `json:"error,omitempty"`
}

// Subscriptions lists the subscribed chats: when each gets its summary, who set
// it, when it last got one, and whether the latest push failed (and why).
func Subscriptions(lang command.Lang, tz string, subs []SubscriptionRow) Card {
	t := subscriptionsStrings(lang)
	if len(subs) == 0 {
		return newCard(t.title, "grey", t.title, md(t.empty))
	}
	failing := 0
	rows := make([]subscriptionRow, 0, min(len(subs), subscriptionsShown))
	for i, s := range subs {
		status := OptionTag{Text: t.ok, Color: "green"}
		switch {
		case s.LastError != "":
			failing++
			status = OptionTag{Text: t.failed, Color: "red"}
		case s.LastSent.IsZero():
			status = OptionTag{Text: t.waiting, Color: "neutral"}
		}
		if i >= subscriptionsShown {
			continue // still counted as failing above
		}
		sent := t.never
		if !s.LastSent.IsZero() {
			sent = s.LastSent.Format(stamp)
		}
		rows = append(rows, subscriptionRow{
			Chat: clip(s.Chat, 40), At: s.At, By: s.By, Sent: sent,
			Status: []OptionTag{status}, Error: clip(s.LastError, 60),
		})
	}
	columns := []TableColumn{
		{Name: "chat", DisplayName: t.colChat, DataType: "text"},
		{Name: "at", DisplayName: t.colAt, DataType: "text"},
		{Name: "by", DisplayName: t.colBy, DataType: "persons"},
		{Name: "sent", DisplayName: t.colSent, DataType: "text"},
		{Name: "status", DisplayName: t.colS, DataType: "options"},
	}
	if failing > 0 {
		columns = append(columns, TableColumn{Name: "error", DisplayName: t.colError, DataType: "text"})
	}
	c := newCard(t.title, "blue", t.title, Table{Tag: "table", PageSize: 10, Columns: columns, Rows: rows})
	if tz != "" {
		sub := plain(t.tz(tz))
		c.Header.Subtitle = &sub
	}
	if failing > 0 {
		c.Header.Template = "red"
		c.Header.TextTagList = []TextTag{textTag(t.failing(failing), "red")}
	}
	if len(subs) > subscriptionsShown {
		c.Body.Elements = append(c.Body.Elements, md(t.more(count(len(subs)-subscriptionsShown))))
	}
	return c
}
