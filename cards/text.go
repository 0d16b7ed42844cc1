package cards

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"acsbot/command"
)

// pick is how every card chooses its strings: English when asked for, Chinese
// otherwise, because Chinese is the bot's default language.
func pick[T any](lang command.Lang, zh, en T) T {
	if lang == command.EN {
		return en
	}
	return zh
}

// View is how a directory answer is shown: to whom, and from which snapshot.
type View struct {
	Lang command.Lang
	// ShowCardNumbers shows card numbers in full; otherwise they are masked
	// (design: only admins in a direct chat see full numbers).
	ShowCardNumbers bool
	// TakenAt is when the snapshot was read; the card shows its age at Now.
	TakenAt, Now time.Time
	// Refreshing says a newer snapshot is being read.
	Refreshing bool
	// EventsMissing says update events do not arrive (acs.Directory.EventsMissing):
	// /stats says what to subscribe to.
	EventsMissing bool
}

// viewText holds the words every directory card shares.
type viewText struct {
	justNow    string
	asOf       func(age string) string
	minutes    func(n int) string
	hours      func(n int) string
	days       func(n int) string
	refreshing string
	masked     string
	noCard     string
	faceYes    string
	faceNo     string
	colPerson  string
	colCard    string
	colFace    string
}

func viewStrings(lang command.Lang) viewText {
	return pick(lang, viewText{
		justNow:    "数据刚刚更新",
		asOf:       func(age string) string { return "数据更新于 " + age },
		minutes:    func(n int) string { return fmt.Sprintf("%d 分钟前", n) },
		hours:      func(n int) string { return fmt.Sprintf("%d 小时前", n) },
		days:       func(n int) string { return fmt.Sprintf("%d 天前", n) },
		refreshing: "正在刷新…",
		masked:     "完整卡号只在管理员私聊中显示。",
		noCard:     "无",
		faceYes:    "已录入",
		faceNo:     "未录入",
		colPerson:  "人员",
		colCard:    "卡号",
		colFace:    "人脸",
	}, viewText{
		justNow:    "Data as of just now",
		asOf:       func(age string) string { return "Data as of " + age },
		minutes:    func(n int) string { return fmt.Sprintf("%d min ago", n) },
		hours:      func(n int) string { return fmt.Sprintf("%d h ago", n) },
		days:       func(n int) string { return plural(n, "1 day ago", "%s days ago") },
		refreshing: "refreshing…",
		masked:     "Full card numbers are shown only to admins in a direct chat.",
		noCard:     "none",
		faceYes:    "uploaded",
		faceNo:     "missing",
		colPerson:  "Person",
		colCard:    "Card",
		colFace:    "Face photo",
	})
}

// status is the snapshot's age, and whether a newer one is on its way.
func (v View) status() string {
	t := viewStrings(v.Lang)
	var parts []string
	if !v.TakenAt.IsZero() {
		// A clock that went backwards reads as "just now", never as a negative age.
		switch age := v.Now.Sub(v.TakenAt); {
		case age < time.Minute:
			parts = append(parts, t.justNow)
		case age < time.Hour:
			parts = append(parts, t.asOf(t.minutes(int(age/time.Minute))))
		case age < 24*time.Hour:
			parts = append(parts, t.asOf(t.hours(int(age/time.Hour))))
		default:
			parts = append(parts, t.asOf(t.days(int(age/(24*time.Hour)))))
		}
	}
	if v.Refreshing {
		parts = append(parts, t.refreshing)
	}
	return strings.Join(parts, " · ")
}

// footer is the small print under a directory answer: the snapshot's age and,
// when numbers were masked, why.
func (v View) footer(masked bool) []Element {
	lines := []string{v.status()}
	if masked {
		lines = append(lines, viewStrings(v.Lang).masked)
	}
	var kept []string
	for _, l := range lines {
		if l != "" {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return []Element{note(strings.Join(kept, br))}
}

// cardText is a card number as this view may show it.
func (v View) cardText(n int) string {
	switch {
	case n <= 0:
		return viewStrings(v.Lang).noCard
	case v.ShowCardNumbers:
		return strconv.Itoa(n)
	default:
		return MaskCard(n)
	}
}

// plural is English's one-or-many: many has a %s for the count.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return fmt.Sprintf(many, count(n))
}

// count writes n with thousands separators: 12,345.
func count(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String()
}

// percent is part/total rounded down to 0.1 %, so a directory with one person
// missing never reads "100%". No total gives "—".
func percent(part, total int) string {
	if total <= 0 {
		return "—"
	}
	permille := int64(part) * 1000 / int64(total)
	if permille%10 == 0 {
		return fmt.Sprintf("%d%%", permille/10)
	}
	return fmt.Sprintf("%d.%d%%", permille/10, permille%10)
}

// duration is how long something took, to a tenth of a second.
func duration(lang command.Lang, d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf(pick(lang, "%d 毫秒", "%d ms"), d.Milliseconds())
	case d < time.Minute:
		tenths := d.Milliseconds() / 100
		return fmt.Sprintf(pick(lang, "%d.%d 秒", "%d.%d s"), tenths/10, tenths%10)
	default:
		s := int64(d / time.Second)
		return fmt.Sprintf(pick(lang, "%d 分 %d 秒", "%d min %d s"), s/60, s%60)
	}
}
