package command

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Registry is the ordered set of commands the bot understands. It is built once and
// never changed, so one Registry may be shared by every goroutine.
type Registry struct {
	specs  []Spec
	byName map[string]int
	// shapes are the phrases of ArgNone commands, matched inside questions.
	shapes []shape
	// prefixes are the phrases of commands that take arguments, longest first so
	// "查询卡号 123" is a card lookup before it is a person lookup.
	prefixes []prefix
	// enFill and zhFill are the words a question may wrap a phrase in without
	// changing what it asks ("who has … photo", "谁还…的人").
	enFill    map[string]bool
	zhFill    map[string]bool
	zhFillMax int // longest Chinese filler, in runes
}

// shape is one ArgNone phrase: English as words, Chinese as a run of characters.
type shape struct {
	spec  int
	words []string // English phrase split into words; nil for Chinese
	han   string   // Chinese phrase without spaces; "" for English
}

// prefix is one phrase of a command that takes arguments.
type prefix struct {
	spec   int
	phrase string
	han    bool // a Chinese phrase may be followed by its argument with no space
}

// Default is the bot's command set, in the order the help card lists it.
func Default() *Registry {
	return newRegistry(defaultSpecs(), englishFillers(), chineseFillers())
}

func newRegistry(specs []Spec, en, zh []string) *Registry {
	r := &Registry{
		specs:  specs,
		byName: make(map[string]int, len(specs)),
		enFill: make(map[string]bool, len(en)),
		zhFill: make(map[string]bool, len(zh)),
	}
	for _, w := range en {
		r.enFill[w] = true
	}
	for _, w := range zh {
		r.zhFill[w] = true
		r.zhFillMax = max(r.zhFillMax, utf8.RuneCountInString(w))
	}
	for i, s := range specs {
		r.byName[s.Name] = i
		for _, p := range s.English {
			if s.Arg == ArgNone {
				r.shapes = append(r.shapes, shape{spec: i, words: words(p)})
			} else {
				r.prefixes = append(r.prefixes, prefix{spec: i, phrase: p})
			}
		}
		for _, p := range s.Chinese {
			if s.Arg == ArgNone {
				r.shapes = append(r.shapes, shape{spec: i, han: compact(p)})
			} else {
				r.prefixes = append(r.prefixes, prefix{spec: i, phrase: p, han: true})
			}
		}
	}
	sort.SliceStable(r.prefixes, func(a, b int) bool {
		return len(r.prefixes[a].phrase) > len(r.prefixes[b].phrase)
	})
	return r
}

// Specs lists every command in registry order. The slice is a copy; the specs'
// own slices and maps are shared and must not be modified.
func (r *Registry) Specs() []Spec {
	return append([]Spec(nil), r.specs...)
}

// Lookup finds a command by its name, the slash form without "/" ("noface").
func (r *Registry) Lookup(name string) (Spec, bool) {
	i, ok := r.byName[name]
	if !ok {
		return Spec{}, false
	}
	return r.specs[i], true
}

// For lists, in registry order, the commands a person with the role may run: the
// help and welcome cards show only what the reader can use.
func (r *Registry) For(role Role) []Spec {
	var out []Spec
	for _, s := range r.specs {
		if s.Role <= role {
			out = append(out, s)
		}
	}
	return out
}

// words splits English text into lower-case words, dropping punctuation, so
// "who's got no face-photo" and "who s got no face photo" read the same.
func words(s string) []string {
	return strings.FieldsFunc(s, func(c rune) bool { return !isWordRune(c) })
}

func defaultSpecs() []Spec {
	return []Spec{
		{
			Name:    "help",
			English: []string{"help", "commands", "what can you do", "how to use"},
			Chinese: []string{"帮助", "怎么用", "使用说明", "命令列表"},
			Role:    Anyone,
			Usage:   "/help",
			Help:    map[Lang]string{ZH: "显示可用的命令", EN: "Show the commands you can use"},
			Examples: map[Lang][]string{
				ZH: {"/help", "帮助"},
				EN: {"/help", "help"},
			},
		},
		{
			Name: "noface",
			English: []string{
				"who has no face photo", "noface", "no face", "without face",
				"without a face", "missing face",
			},
			Chinese: []string{
				"谁没有人脸", "没有人脸", "未录入人脸", "没人脸", "没录人脸", "没录入人脸",
				"没有录入人脸", "没有录人脸", "未录人脸", "人脸未录入", "没有上传人脸",
				"未上传人脸", "无人脸",
			},
			Role:  Reader,
			Usage: "/noface",
			Help:  map[Lang]string{ZH: "列出还没有录入人脸照片的人", EN: "List the people with no face photo"},
			Examples: map[Lang][]string{
				ZH: {"/noface", "谁没有人脸？", "未录入人脸"},
				EN: {"/noface", "who has no face photo?"},
			},
		},
		{
			Name: "nocard",
			English: []string{
				"who has no card", "nocard", "no card", "no cards", "no access card",
				"no access cards", "without card", "without a card", "without access card",
				"without an access card", "missing card",
			},
			Chinese: []string{
				"谁没有卡", "没有门禁卡", "没有卡", "没卡", "没门禁卡", "无门禁卡", "没有卡号",
				"未办门禁卡", "没办卡", "没有办卡",
			},
			Role:  Reader,
			Usage: "/nocard",
			Help:  map[Lang]string{ZH: "列出还没有门禁卡的人", EN: "List the people with no access card"},
			Examples: map[Lang][]string{
				ZH: {"/nocard", "谁没有门禁卡？"},
				EN: {"/nocard", "who has no card?"},
			},
		},
		{
			Name:    "stats",
			English: []string{"stats", "statistics", "summary", "overview"},
			Chinese: []string{"统计", "概况", "汇总", "总览"},
			Role:    Reader,
			Usage:   "/stats",
			Help:    map[Lang]string{ZH: "人脸与门禁卡的录入统计", EN: "Counts of face photos and access cards"},
			Examples: map[Lang][]string{
				ZH: {"/stats", "统计", "概况"},
				EN: {"/stats", "summary"},
			},
		},
		{
			Name:    "user",
			English: []string{"user", "look up", "lookup", "who is", "find"},
			Chinese: []string{"查询", "查一下", "查查"},
			Role:    Reader,
			Arg:     ArgPerson,
			Usage:   "/user @someone | /user <id>",
			Help:    map[Lang]string{ZH: "查看某人的人脸与门禁卡", EN: "Show one person's face photo and card"},
			Examples: map[Lang][]string{
				ZH: {"/user @张三", "查询 @张三"},
				EN: {"/user @Alice", "look up @Alice"},
			},
		},
		{
			Name:    "card",
			English: []string{"card", "card number", "look up card", "lookup card"},
			Chinese: []string{"卡号", "查卡号", "查询卡号"},
			Role:    Admin,
			Arg:     ArgNumber,
			Usage:   "/card <number>",
			Help:    map[Lang]string{ZH: "按卡号查找持卡人", EN: "Find who holds a card number"},
			Examples: map[Lang][]string{
				ZH: {"/card 123456", "卡号 123456"},
				EN: {"/card 123456", "card 123456"},
			},
		},
		{
			Name:    "refresh",
			English: []string{"refresh", "reload"},
			Chinese: []string{"刷新"},
			Role:    Admin,
			Usage:   "/refresh",
			Help:    map[Lang]string{ZH: "立即重新读取门禁名单", EN: "Read the access control list again now"},
			Examples: map[Lang][]string{
				ZH: {"/refresh", "刷新"},
				EN: {"/refresh", "refresh"},
			},
		},
		{
			Name:    "subscribe",
			English: []string{"subscribe"},
			Chinese: []string{"订阅", "订阅日报"},
			Role:    Admin,
			Arg:     ArgClock,
			Usage:   "/subscribe [HH:MM]",
			Help:    map[Lang]string{ZH: "本群每天定时收到汇总", EN: "Post a daily summary to this chat"},
			Examples: map[Lang][]string{
				ZH: {"/subscribe 09:30", "订阅 09:30"},
				EN: {"/subscribe 09:30", "subscribe 09:30"},
			},
		},
		{
			Name:    "unsubscribe",
			English: []string{"unsubscribe"},
			Chinese: []string{"取消订阅", "退订"},
			Role:    Admin,
			Usage:   "/unsubscribe",
			Help:    map[Lang]string{ZH: "本群不再收到每日汇总", EN: "Stop this chat's daily summary"},
			Examples: map[Lang][]string{
				ZH: {"/unsubscribe", "取消订阅"},
				EN: {"/unsubscribe", "unsubscribe"},
			},
		},
		{
			Name:    "subscriptions",
			English: []string{"subscriptions"},
			Chinese: []string{"订阅列表", "查看订阅"},
			Role:    Admin,
			Usage:   "/subscriptions",
			Help:    map[Lang]string{ZH: "列出订阅了每日汇总的群", EN: "List the chats that get the daily summary"},
			Examples: map[Lang][]string{
				ZH: {"/subscriptions", "订阅列表"},
				EN: {"/subscriptions"},
			},
		},
		{
			Name:  "push",
			Role:  Admin,
			Usage: "/push now",
			Help:  map[Lang]string{ZH: "立即在本会话预览今天的汇总（不计入每日推送）", EN: "Preview today's summary in this chat now (not counted as the daily one)"},
			Examples: map[Lang][]string{
				ZH: {"/push now"},
				EN: {"/push now"},
			},
		},
		{
			Name:    "remind",
			English: []string{"remind"},
			Chinese: []string{"提醒"},
			Role:    Admin,
			Arg:     ArgCommand,
			Usage:   "/remind noface",
			Help:    map[Lang]string{ZH: "私信提醒没有人脸的人上传照片（需确认）", EN: "Remind people with no face photo to upload one (after you confirm)"},
			Examples: map[Lang][]string{
				ZH: {"/remind noface", "提醒 没有人脸"},
				EN: {"/remind noface", "remind noface"},
			},
		},
		{
			Name:    "doors",
			English: []string{"doors", "devices", "door status", "door devices"},
			Chinese: []string{"门禁设备", "设备", "门禁机", "设备状态"},
			Role:    Reader,
			Usage:   "/doors",
			Help:    map[Lang]string{ZH: "门禁设备是否在线、人脸容量和最近一次开门", EN: "Each door: online or not, face capacity, last entry"},
			Examples: map[Lang][]string{
				ZH: {"/doors", "门禁设备"},
				EN: {"/doors", "doors"},
			},
		},
		{
			Name:    "access",
			English: []string{"access", "access records", "door records"},
			Chinese: []string{"通行记录", "门禁记录", "进出记录"},
			Role:    Admin,
			Arg:     ArgDate,
			Usage:   "/access [@someone] [YYYY-MM-DD]",
			Help:    map[Lang]string{ZH: "某天各门的通行次数，或某人的通行记录（仅私聊）", EN: "A day's entries by door, or one person's records (direct chat only)"},
			Examples: map[Lang][]string{
				ZH: {"/access", "通行记录 @张三 2026-11-25"},
				EN: {"/access", "access @Alice 2026-11-25"},
			},
		},
		{
			Name:    "usage",
			English: []string{"usage"},
			Chinese: []string{"用量"},
			Role:    Admin,
			Usage:   "/usage",
			Help:    map[Lang]string{ZH: "本月的飞书 API 调用量（对照月度上限）", EN: "This month's Feishu API calls, against the monthly quota"},
			Examples: map[Lang][]string{
				ZH: {"/usage", "用量"},
				EN: {"/usage", "usage"},
			},
		},
	}
}

// englishFillers may surround an English phrase in a question. None of them negates
// or redirects the question, so "who has no face photo" may match and "I have no
// face" may not ("i" is not a filler).
func englishFillers() []string {
	return []string{
		"who", "whom", "which", "what", "has", "have", "got", "is", "are", "there",
		"any", "anyone", "anybody", "someone", "somebody", "users", "user", "people",
		"person", "persons", "employees", "staff", "members", "with", "list", "show",
		"give", "tell", "me", "us", "the", "a", "an", "all", "still", "yet", "please",
		"pls", "of", "do", "does", "photo", "photos", "picture", "pictures", "image",
		"images", "find", "uploaded", "registered", "enrolled", "s", "now", "currently", "today",
		"so", "far",
	}
}

// chineseFillers may surround a Chinese phrase in a question. Like the English ones,
// none of them changes the question: "我" is left out so "我没有人脸" is no command.
func chineseFillers() []string {
	return []string{
		"谁", "谁还", "哪些", "哪些人", "哪个", "哪位", "哪几个", "有谁", "有哪些", "还有",
		"还", "仍", "仍然", "目前", "现在", "当前", "有", "是", "吗", "呢", "呀", "啊", "吧",
		"的", "了", "人", "人员", "用户", "员工", "同事", "列出", "列一下", "查看", "查询",
		"看看", "看一下", "显示", "给我", "帮我", "请", "一下", "名单", "列表", "所有", "全部",
		"照片", "多少", "多少人", "几个", "几个人", "数据", "情况", "门禁",
	}
}
