package cards

import (
	"fmt"

	"acsbot/acs"
	"acsbot/command"
)

// ReminderAction is a click on a reminder confirm card's Send or Cancel. ID is
// the action id the card was built with, so a click is acted on once (the store
// claims it) and a stale card cannot start a second round.
type ReminderAction struct {
	Send bool
	ID   string
}

// maxActionID bounds an action id from a callback.
const maxActionID = 64

// reminderValue is ReminderAction as the callback value carries it.
type reminderValue struct {
	A  string `json:"a"`
	ID string `json:"id"`
}

func (r ReminderAction) value() reminderValue {
	if r.Send {
		return reminderValue{A: "remind_send", ID: r.ID}
	}
	return reminderValue{A: "remind_cancel", ID: r.ID}
}

// ParseReminderAction reads a Send/Cancel callback value; anything else, or an
// empty or oversized id, is refused.
func ParseReminderAction(value map[string]any) (ReminderAction, bool) {
	id, _ := value["id"].(string)
	if id == "" || len(id) > maxActionID {
		return ReminderAction{}, false
	}
	switch a, _ := value["a"].(string); a {
	case "remind_send":
		return ReminderAction{Send: true, ID: id}, true
	case "remind_cancel":
		return ReminderAction{ID: id}, true
	default:
		return ReminderAction{}, false
	}
}

// reminderPeople is how many people a confirm card names before "and N more".
const reminderPeople = 10

type remindText struct {
	confirmTitle  string
	confirm       func(n int) string
	skipNote      string
	more          func(n string) string
	send, cancel  string
	nobodyTitle   string
	nobody        string
	progressTitle string
	progress      func(sent, total string) string
	resultTitle   string
	sent, skipped string
	failed        string
	colPerson     string
	colReason     string
	moreFailed    func(n string) string
}

func remindStrings(lang command.Lang) remindText {
	return pick(lang, remindText{
		confirmTitle: "发送人脸录入提醒？",
		confirm: func(n int) string {
			return fmt.Sprintf("我会私信提醒 **%s 人**录入门禁人脸，每人一条。", count(n))
		},
		skipNote:      "24 小时内已提醒过的人会跳过。",
		more:          func(n string) string { return fmt.Sprintf("……另有 %s 人", n) },
		send:          "发送",
		cancel:        "取消",
		nobodyTitle:   "无需提醒",
		nobody:        "所有人都已录入人脸，没有需要提醒的人。🎉",
		progressTitle: "正在发送提醒…",
		progress:      func(sent, total string) string { return fmt.Sprintf("已发送 **%s / %s**", sent, total) },
		resultTitle:   "提醒已发送",
		sent:          "已发送",
		skipped:       "已跳过（24 小时内提醒过）",
		failed:        "发送失败",
		colPerson:     "人员",
		colReason:     "原因",
		moreFailed:    func(n string) string { return fmt.Sprintf("另有 %s 条失败未显示。", n) },
	}, remindText{
		confirmTitle: "Send face photo reminders?",
		confirm: func(n int) string {
			return "I will send " + plural(n, "**1 person**", "**%s people**") + " a direct message asking them to upload a face photo, one message each."
		},
		skipNote:      "People reminded in the last 24 h are skipped.",
		more:          func(n string) string { return fmt.Sprintf("…and %s more", n) },
		send:          "Send",
		cancel:        "Cancel",
		nobodyTitle:   "Nobody to remind",
		nobody:        "Everyone has a face photo; there is nobody to remind. 🎉",
		progressTitle: "Sending reminders…",
		progress:      func(sent, total string) string { return fmt.Sprintf("**%s / %s** sent", sent, total) },
		resultTitle:   "Reminders sent",
		sent:          "Sent",
		skipped:       "Skipped (reminded in the last 24 h)",
		failed:        "Failed",
		colPerson:     "Person",
		colReason:     "Why",
		moreFailed:    func(n string) string { return fmt.Sprintf("%s more failures not shown.", n) },
	})
}

// ReminderConfirm asks an admin to confirm /remind noface: how many people would
// get a reminder, the first few of them, and Send/Cancel buttons carrying id.
func ReminderConfirm(lang command.Lang, users []acs.User, id string) Card {
	t := remindStrings(lang)
	if len(users) == 0 {
		return newCard(t.nobodyTitle, "green", t.nobodyTitle, md(t.nobody))
	}
	shown := users[:min(len(users), reminderPeople)]
	c := newCard(t.confirmTitle, "orange", t.confirmTitle,
		md(t.confirm(len(users))),
		personList(shown),
	)
	if len(users) > len(shown) {
		c.Body.Elements = append(c.Body.Elements, md(t.more(count(len(users)-len(shown)))))
	}
	c.Body.Elements = append(c.Body.Elements,
		note(t.skipNote),
		buttonRow(
			callbackButton(t.send, "primary", ReminderAction{Send: true, ID: id}.value()),
			callbackButton(t.cancel, "default", ReminderAction{ID: id}.value()),
		),
	)
	return c
}

// ReminderProgress replaces the confirm card while reminders go out.
func ReminderProgress(lang command.Lang, sent, total int) Card {
	t := remindStrings(lang)
	return newCard(t.progressTitle, "blue", t.progressTitle, md(t.progress(count(sent), count(total))))
}

// ReminderFailure is one reminder that could not be sent, and Feishu's reason.
type ReminderFailure struct {
	UserID string
	Reason string
}

// ReminderReport is how a round of reminders went.
type ReminderReport struct {
	Sent    int
	Skipped int // reminded in the last 24 h
	Failed  []ReminderFailure
}

// failuresShown bounds the failure table so the card stays under 30 KB.
const failuresShown = 50

type failureRow struct {
	Person string `json:"person"`
	Reason string `json:"reason"`
}

// ReminderResult is the final state of a confirm card: sent, skipped, and the
// failures with their reasons.
func ReminderResult(lang command.Lang, r ReminderReport) Card {
	t := remindStrings(lang)
	template := "green"
	if len(r.Failed) > 0 {
		template = "orange"
	}
	c := newCard(t.resultTitle, template, t.resultTitle, tiles("",
		tile{count(r.Sent), t.sent},
		tile{count(r.Skipped), t.skipped},
		tile{count(len(r.Failed)), t.failed},
	))
	if len(r.Failed) > 0 {
		shown := r.Failed[:min(len(r.Failed), failuresShown)]
		rows := make([]failureRow, len(shown))
		for i, f := range shown {
			rows[i] = failureRow{Person: f.UserID, Reason: clip(f.Reason, 120)}
		}
		c.Body.Elements = append(c.Body.Elements, Table{
			Tag:      "table",
			PageSize: 10,
			Columns: []TableColumn{
				{Name: "person", DisplayName: t.colPerson, DataType: "persons"},
				{Name: "reason", DisplayName: t.colReason, DataType: "text"},
			},
			Rows: rows,
		})
		if len(r.Failed) > failuresShown {
			c.Body.Elements = append(c.Body.Elements, md(t.moreFailed(count(len(r.Failed)-failuresShown))))
		}
	}
	return c
}

type reminderText struct{ title, body, footer string }

// Reminder is the direct message an employee without a face photo gets: why it
// matters and how to upload one in the Feishu app.
func Reminder(lang command.Lang) Card {
	t := pick(lang, reminderText{
		title: "请录入门禁人脸",
		body: "你好！公司门禁支持刷脸通行，但门禁系统里还没有你的人脸照片。录入后，走到门前即可刷脸开门，不用再找门禁卡。\n\n" +
			"**如何录入**（约 1 分钟）：\n" +
			"1. 在手机上打开飞书，进入 **工作台**。\n" +
			"2. 打开 **智能门禁** 应用，选择 **人脸录入**。\n" +
			"3. 按提示拍摄：光线充足，正对镜头，不戴帽子、口罩或墨镜。",
		footer: "这是门禁管理员发出的提醒，24 小时内不会重复发送。如有问题，请联系门禁管理员。",
	}, reminderText{
		title: "Please upload your face photo",
		body: "Hi! The office doors open by face recognition, but access control has no face photo of you yet. Once you add one, you can walk up to a door and it opens, no card needed.\n\n" +
			"**How to upload it** (about a minute):\n" +
			"1. Open Feishu on your phone and go to **Workplace**.\n" +
			"2. Open the **Access Control** app and choose **Face photo**.\n" +
			"3. Follow the prompts: good light, look straight at the camera, no hat, mask or sunglasses.",
		footer: "Your access control admins sent this reminder; you won't get another within 24 hours. Questions? Ask an ACS admin.",
	})
	return newCard(t.title, "blue", t.title, md(t.body), note(t.footer))
}
