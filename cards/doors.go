package cards

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"acsbot/command"
	"acsbot/doors"
)

// maxRecordLines bounds one person's records on a card, far inside the 30 KB limit:
// a day of someone walking through doors is a few dozen.
const maxRecordLines = 200

type doorsText struct {
	title       string
	summary     func(n, offline int) string
	none        string
	online      string
	offline     string
	unknown     string
	faces       func(n, capacity string) string
	nearlyFull  string
	lastEntry   func(at string) string
	noEntry     string
	statusNote  string
	accessTitle func(day string) string
	dayTotal    func(opened, clockOnly string) string
	doorLine    func(door, opened, clockOnly string) string
	noRecords   string
	askInDM     string
	noRefusals  string
	personHead  func(day string) string
	personNone  string
	opened      string
	clockOnly   string
	both        string
	more        func(n string) string
	badTitle    string
	badDate     func(input, earliest, today string) string
	scopeTitle  string
	scope       func(scope, label string) string
	summaryHead func(day, opened string) string
	summaryOff  string
	summaryFull string
}

func doorsStrings(lang command.Lang) doorsText {
	return pick(lang, doorsText{
		title:       "门禁设备",
		summary:     func(n, off int) string { return fmt.Sprintf("%d 台门禁设备，%d 台离线", n, off) },
		none:        "门禁系统里还没有设备。",
		online:      "🟢 在线",
		offline:     "🔴 离线",
		unknown:     "⚪ 状态未知",
		faces:       func(n, c string) string { return fmt.Sprintf("人脸 %s/%s", n, c) },
		nearlyFull:  "⚠️ 人脸库将满",
		lastEntry:   func(at string) string { return "最近开门 " + at },
		noEntry:     "近 31 天没有开门记录",
		statusNote:  "在线状态和人脸数量来自飞书；飞书没有给出时显示为“状态未知”。",
		accessTitle: func(day string) string { return "通行记录 " + day },
		dayTotal: func(o, c string) string {
			return fmt.Sprintf("共开门 **%s** 次，另有 **%s** 次打卡未开门。", o, c)
		},
		doorLine:   func(d, o, c string) string { return fmt.Sprintf("**%s**：开门 %s 次 · 仅打卡 %s 次", d, o, c) },
		noRecords:  "这一天没有通行记录。",
		askInDM:    "个人的通行记录只在管理员与我的私聊中显示：请私聊我发送 /access @某人 [日期]。",
		noRefusals: "飞书只记录开门和打卡，不记录被拒绝的通行。",
		personHead: func(day string) string { return "**" + day + "** 的通行记录" },
		personNone: "这一天没有此人的通行记录。",
		opened:     "开门",
		clockOnly:  "打卡（未开门）",
		both:       "开门并打卡",
		more:       func(n string) string { return fmt.Sprintf("……另有 %s 条未显示", n) },
		badTitle:   "日期不对",
		badDate: func(in, earliest, today string) string {
			return fmt.Sprintf("“%s” 不是可以查询的日期。请用 YYYY-MM-DD 格式，从 %s（30 天前）到今天 %s，例如 /access %s。", in, earliest, today, today)
		},
		scopeTitle: "机器人缺少权限",
		scope: func(scope, label string) string {
			return fmt.Sprintf("飞书拒绝了请求：应用还没有开通 **%s**（%s）权限。<br>请应用管理员在飞书开发者后台（open.feishu.cn/app）→ 本应用 → 开发配置 → 权限管理 中开通该权限，然后创建并发布新版本。", scope, label)
		},
		summaryHead: func(day, o string) string { return fmt.Sprintf("**门禁**（%s）：开门 %s 次", day, o) },
		summaryOff:  "离线：",
		summaryFull: "人脸库将满：",
	}, doorsText{
		title:       "Doors",
		summary:     func(n, off int) string { return fmt.Sprintf("%d doors, %d offline", n, off) },
		none:        "Access control has no devices yet.",
		online:      "🟢 online",
		offline:     "🔴 offline",
		unknown:     "⚪ status unknown",
		faces:       func(n, c string) string { return fmt.Sprintf("faces %s/%s", n, c) },
		nearlyFull:  "⚠️ face store nearly full",
		lastEntry:   func(at string) string { return "last entry " + at },
		noEntry:     "no entry in 31 days",
		statusNote:  "Online status and face counts come from Feishu; where it gives none, the status shows as unknown.",
		accessTitle: func(day string) string { return "Door records " + day },
		dayTotal: func(o, c string) string {
			return fmt.Sprintf("Doors opened **%s** times; **%s** clock-ins opened no door.", o, c)
		},
		doorLine:   func(d, o, c string) string { return fmt.Sprintf("**%s**: opened %s · clock-in only %s", d, o, c) },
		noRecords:  "No door records that day.",
		askInDM:    "One person's records are shown only to an admin in a direct chat with me: message me /access @someone [date] there.",
		noRefusals: "Feishu records doors opened and clock-ins only, never refusals.",
		personHead: func(day string) string { return "Door records of **" + day + "**" },
		personNone: "No door records of this person that day.",
		opened:     "opened the door",
		clockOnly:  "clock-in (no door)",
		both:       "opened the door and clocked in",
		more:       func(n string) string { return fmt.Sprintf("…and %s more", n) },
		badTitle:   "Check the date",
		badDate: func(in, earliest, today string) string {
			return fmt.Sprintf("“%s” is not a day I can show. Use YYYY-MM-DD, from %s (30 days ago) to today, %s; e.g. /access %s.", in, earliest, today, today)
		},
		scopeTitle: "The bot lacks a permission",
		scope: func(scope, label string) string {
			return fmt.Sprintf("Feishu refused: the app has not been granted the scope **%s** (%s).<br>An app admin can add it in the Feishu developer console (open.feishu.cn/app) → this app → Development Configuration → Permissions & Scopes, then create and publish a new version.", scope, label)
		},
		summaryHead: func(day, o string) string { return fmt.Sprintf("**Doors** (%s): %s entries", day, o) },
		summaryOff:  "offline: ",
		summaryFull: "face store nearly full: ",
	})
}

// Doors answers /doors: every device with its status (never "offline" unless
// Feishu says so), its faces against capacity, and its last entry from the stored
// records, shown in loc.
func Doors(v View, loc *time.Location, list *doors.DeviceList, last map[string]time.Time) Card {
	t := doorsStrings(v.Lang)
	devs := slices.Clone(list.Devices)
	slices.SortStableFunc(devs, func(a, b doors.Device) int { return cmp.Compare(a.Name, b.Name) })
	offline := 0
	lines := make([]string, 0, len(devs))
	for _, d := range devs {
		parts := []string{"**" + EscapeMarkdown(d.Name) + "**"}
		switch d.Status {
		case doors.Online:
			parts = append(parts, t.online)
		case doors.Offline:
			offline++
			parts = append(parts, t.offline)
		default:
			parts = append(parts, t.unknown)
		}
		if d.Capacity > 0 {
			faces := t.faces(count(d.Faces), count(d.Capacity))
			if d.NearlyFull() {
				faces += " " + t.nearlyFull
			}
			parts = append(parts, faces)
		}
		if at, ok := last[d.ID]; ok {
			parts = append(parts, t.lastEntry(at.In(loc).Format(stamp)))
		} else {
			parts = append(parts, t.noEntry)
		}
		lines = append(lines, strings.Join(parts, " · "))
	}
	template := "blue"
	if offline > 0 {
		template = "orange"
	}
	body := t.none
	if len(lines) > 0 {
		body = strings.Join(lines, br)
	}
	c := newCard(t.title, template, t.summary(len(devs), offline), md(body), note(t.statusNote))
	c.Body.Elements = append(c.Body.Elements, v.footer(false)...)
	return c
}

// doorName is a device's name from names, else its id.
func doorName(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}

// AccessDay answers /access without a person, or with one where names may not be
// shown: the day's counts by door. askInDM adds the line that says where one
// person's records can be seen.
func AccessDay(lang command.Lang, day string, counts []doors.DoorDay, names map[string]string, askInDM bool) Card {
	t := doorsStrings(lang)
	rows := slices.Clone(counts)
	slices.SortStableFunc(rows, func(a, b doors.DoorDay) int { return cmp.Compare(b.Opened, a.Opened) })
	opened, clockOnly := 0, 0
	lines := make([]string, 0, len(rows))
	for _, r := range rows {
		opened += r.Opened
		clockOnly += r.ClockOnly
		lines = append(lines, t.doorLine(EscapeMarkdown(doorName(names, r.DeviceID)), count(r.Opened), count(r.ClockOnly)))
	}
	elems := []Element{md(t.noRecords)}
	if len(rows) > 0 {
		elems = []Element{md(t.dayTotal(count(opened), count(clockOnly))), md(strings.Join(lines, br))}
	}
	if askInDM {
		elems = append(elems, md(t.askInDM))
	}
	elems = append(elems, note(t.noRefusals))
	return newCard(t.accessTitle(day), "blue", t.accessTitle(day), elems...)
}

// AccessPerson answers /access @someone, for an admin in a direct chat: the
// person's records of the day, shown in loc.
func AccessPerson(lang command.Lang, loc *time.Location, day, userID string, recs []doors.Record, names map[string]string) Card {
	t := doorsStrings(lang)
	elems := []Element{
		UserProfile{Tag: "person", UserID: userID, Size: "medium", ShowAvatar: true, ShowName: true},
		md(t.personHead(day)),
	}
	if len(recs) == 0 {
		elems = append(elems, md(t.personNone))
	} else {
		shown := recs[:min(len(recs), maxRecordLines)]
		lines := make([]string, 0, len(shown)+1)
		for _, r := range shown {
			what := t.opened
			switch {
			case r.DoorOpen && r.ClockIn:
				what = t.both
			case !r.DoorOpen:
				what = t.clockOnly
			}
			lines = append(lines, fmt.Sprintf("%s · **%s** · %s", r.At.In(loc).Format(time.TimeOnly), EscapeMarkdown(doorName(names, r.DeviceID)), what))
		}
		if n := len(recs) - len(shown); n > 0 {
			lines = append(lines, t.more(count(n)))
		}
		elems = append(elems, md(strings.Join(lines, br)))
	}
	elems = append(elems, note(t.noRefusals))
	return newCard(t.accessTitle(day), "blue", t.accessTitle(day), elems...)
}

// BadDate answers /access with a day it cannot show: not a date, in the future, or
// more than 30 days back. input is repeated safely.
func BadDate(lang command.Lang, input, earliest, today string) Card {
	t := doorsStrings(lang)
	return newCard(t.badTitle, "orange", t.badTitle, md(t.badDate(echo(input), earliest, today)))
}

// ScopeMissing says Feishu refused a call for want of scope (label is what the
// developer console calls it), and where to grant it.
func ScopeMissing(lang command.Lang, scope, label string) Card {
	t := doorsStrings(lang)
	return newCard(t.scopeTitle, "red", t.scopeTitle, md(t.scope(scope, label)))
}

// DoorsDay is what the daily summary says of doors: a day's entries by door, and
// the doors offline or nearly full now. Devices may be nil when they could not be
// read; the line then names doors by id and flags none.
type DoorsDay struct {
	Day     string
	Counts  []doors.DoorDay
	Devices *doors.DeviceList
}

// doorsLine is the summary's doors line.
func doorsLine(lang command.Lang, d DoorsDay) string {
	t := doorsStrings(lang)
	names := d.Devices.Names()
	rows := slices.Clone(d.Counts)
	slices.SortStableFunc(rows, func(a, b doors.DoorDay) int { return cmp.Compare(b.Opened, a.Opened) })
	opened := 0
	var byDoor []string
	for _, r := range rows {
		opened += r.Opened
		if r.Opened > 0 {
			byDoor = append(byDoor, EscapeMarkdown(doorName(names, r.DeviceID))+" "+count(r.Opened))
		}
	}
	line := t.summaryHead(d.Day, count(opened))
	if len(byDoor) > 0 {
		line += " — " + strings.Join(byDoor, " · ")
	}
	var off, full []string
	if d.Devices != nil {
		for _, dev := range d.Devices.Devices {
			if dev.Status == doors.Offline {
				off = append(off, EscapeMarkdown(dev.Name))
			}
			if dev.NearlyFull() {
				full = append(full, fmt.Sprintf("%s (%s/%s)", EscapeMarkdown(dev.Name), count(dev.Faces), count(dev.Capacity)))
			}
		}
	}
	if len(off) > 0 {
		line += br + t.summaryOff + strings.Join(off, pick(lang, "、", ", "))
	}
	if len(full) > 0 {
		line += br + t.summaryFull + strings.Join(full, pick(lang, "、", ", "))
	}
	return line
}
