package command

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	botID   = "ou_bot"
	aliceID = "ou_alice"
	bobID   = "ou_bob"
)

// mentions are the event's mentions for every test message: the bot is @_user_1,
// Alice @_user_2 and Bob @_user_3, the way Feishu numbers them.
var testMentions = []Mention{
	{Key: "@_user_1", OpenID: botID, Name: "AccessBot"},
	{Key: "@_user_2", OpenID: aliceID, Name: "Alice"},
	{Key: "@_user_3", OpenID: bobID, Name: "Bob"},
}

func input(text string, def Lang) Input {
	return Input{Text: text, Mentions: testMentions, BotOpenID: botID, DefaultLang: def}
}

// parseCase is one message and what it must parse to.
type parseCase struct {
	text    string
	def     Lang // Input.DefaultLang
	name    string
	args    []string
	users   []string
	lang    Lang
	suggest string
	// solo marks text whose meaning changes when someone else is @-mentioned
	// ("查询" alone is incomplete, "查询 @Bob" is a lookup).
	solo bool
}

func commandCases() []parseCase {
	return []parseCase{
		// help
		{text: "/help", name: "help", lang: ZH},
		{text: "/help", def: EN, name: "help", lang: EN},
		{text: "/HELP", name: "help", lang: ZH},
		{text: "help", name: "help", lang: EN},
		{text: "Help me please!", name: "help", lang: EN},
		{text: "what can you do?", name: "help", lang: EN},
		{text: "帮助", def: EN, name: "help", lang: ZH},
		{text: "帮助一下", name: "help", lang: ZH},

		// noface
		{text: "/noface", name: "noface", lang: ZH},
		{text: "／noface", def: EN, name: "noface", lang: EN},
		{text: "／ｎｏｆａｃｅ", name: "noface", lang: ZH},
		{text: "/NoFace", name: "noface", lang: ZH},
		{text: "、noface", name: "noface", lang: ZH},
		{text: "/noface   ", name: "noface", lang: ZH},
		{text: "noface", name: "noface", lang: EN},
		{text: "no face", name: "noface", lang: EN},
		{text: "who has no face photo", name: "noface", lang: EN},
		{text: "who has no face photo?", name: "noface", lang: EN},
		{text: "WHO has no face photo", def: ZH, name: "noface", lang: EN},
		{text: "  who   has no\tface photo ？ ", name: "noface", lang: EN},
		{text: "which users have no face photo", name: "noface", lang: EN},
		{text: "who's got no face photo yet?", name: "noface", lang: EN},
		{text: "users without a face photo", name: "noface", lang: EN},
		{text: "谁没有人脸", def: EN, name: "noface", lang: ZH},
		{text: "谁没有人脸？", name: "noface", lang: ZH},
		{text: "谁没有人脸?!", name: "noface", lang: ZH},
		{text: "没有人脸", name: "noface", lang: ZH},
		{text: "未录入人脸", name: "noface", lang: ZH},
		{text: "谁没录人脸", name: "noface", lang: ZH},
		{text: "哪些人还没有录入人脸？", name: "noface", lang: ZH},
		{text: "  谁  没有　人脸  ", name: "noface", lang: ZH},
		{text: "查询没有人脸的人", name: "noface", lang: ZH},
		{text: "有多少人没有人脸照片", name: "noface", lang: ZH},

		// nocard
		{text: "/nocard", name: "nocard", lang: ZH},
		{text: "/NOCARD", def: EN, name: "nocard", lang: EN},
		{text: "who has no card", name: "nocard", lang: EN},
		{text: "Who has no access card?", name: "nocard", lang: EN},
		{text: "users without an access card", name: "nocard", lang: EN},
		{text: "谁没有卡", name: "nocard", lang: ZH},
		{text: "谁没有门禁卡？", name: "nocard", lang: ZH},
		{text: "没有门禁卡", name: "nocard", lang: ZH},
		{text: "没有门禁卡的同事有哪些", name: "nocard", lang: ZH},

		// stats
		{text: "/stats", name: "stats", lang: ZH},
		{text: "/Stats", def: EN, name: "stats", lang: EN},
		{text: "stats", name: "stats", lang: EN},
		{text: "summary", name: "stats", lang: EN},
		{text: "show me the stats", name: "stats", lang: EN},
		{text: "统计", name: "stats", lang: ZH},
		{text: "概况", name: "stats", lang: ZH},
		{text: "门禁统计", name: "stats", lang: ZH},

		// user
		{text: "/user @_user_2", name: "user", users: []string{aliceID}, lang: ZH},
		{text: "/user ou_123", name: "user", args: []string{"ou_123"}, lang: ZH},
		{text: "/user", name: "user", lang: ZH},
		{text: "查询 @_user_2", name: "user", users: []string{aliceID}, lang: ZH},
		{text: "查询@_user_2", name: "user", users: []string{aliceID}, lang: ZH},
		{text: "look up @_user_2", name: "user", users: []string{aliceID}, lang: EN},
		{text: "who is @_user_2?", name: "user", users: []string{aliceID}, lang: EN},

		// card
		{text: "/card 123456", name: "card", args: []string{"123456"}, lang: ZH},
		{text: "/card", name: "card", lang: ZH},
		{text: "/card abc", name: "card", args: []string{"abc"}, lang: ZH},
		{text: "卡号 123456", name: "card", args: []string{"123456"}, lang: ZH},
		{text: "卡号123456", name: "card", args: []string{"123456"}, lang: ZH},
		{text: "卡号：１２３４５６", name: "card", args: []string{"123456"}, lang: ZH},
		{text: "查询卡号 123456", name: "card", args: []string{"123456"}, lang: ZH},
		{text: "card 123456", name: "card", args: []string{"123456"}, lang: EN},
		{text: "Card Number 42", name: "card", args: []string{"42"}, lang: EN},

		// refresh
		{text: "/refresh", name: "refresh", lang: ZH},
		{text: "刷新", name: "refresh", lang: ZH},
		{text: "刷新一下", name: "refresh", lang: ZH},
		{text: "refresh", name: "refresh", lang: EN},
		{text: "reload please", name: "refresh", lang: EN},

		// subscribe
		{text: "/subscribe", name: "subscribe", lang: ZH},
		{text: "/subscribe 09:30", name: "subscribe", args: []string{"09:30"}, lang: ZH},
		{text: "/subscribe ０９：３０", name: "subscribe", args: []string{"09:30"}, lang: ZH},
		{text: "/subscribe  09:30  ", def: EN, name: "subscribe", args: []string{"09:30"}, lang: EN},
		{text: "订阅", name: "subscribe", lang: ZH},
		{text: "订阅 09:30", name: "subscribe", args: []string{"09:30"}, lang: ZH},
		{text: "订阅09:30", name: "subscribe", args: []string{"09:30"}, lang: ZH},
		{text: "订阅日报 08:00", name: "subscribe", args: []string{"08:00"}, lang: ZH},
		{text: "subscribe 7:05", name: "subscribe", args: []string{"7:05"}, lang: EN},

		// unsubscribe, subscriptions, push
		{text: "/unsubscribe", name: "unsubscribe", lang: ZH},
		{text: "取消订阅", name: "unsubscribe", lang: ZH},
		{text: "退订", name: "unsubscribe", lang: ZH},
		{text: "unsubscribe", name: "unsubscribe", lang: EN},
		{text: "/subscriptions", name: "subscriptions", lang: ZH},
		{text: "subscriptions", name: "subscriptions", lang: EN},
		{text: "订阅列表", name: "subscriptions", lang: ZH},
		{text: "查看订阅", name: "subscriptions", lang: ZH},
		{text: "/push now", name: "push", args: []string{"now"}, lang: ZH},
		{text: "/PUSH NOW", def: EN, name: "push", args: []string{"now"}, lang: EN},

		// remind
		{text: "/remind noface", name: "remind", args: []string{"noface"}, lang: ZH},
		{text: "/remind", name: "remind", lang: ZH},
		{text: "提醒 没有人脸", name: "remind", args: []string{"没有人脸"}, lang: ZH},
		{text: "提醒没有人脸", name: "remind", args: []string{"没有人脸"}, lang: ZH},
		{text: "提醒没有人脸的人", name: "remind", args: []string{"没有人脸的人"}, lang: ZH},
		{text: "remind noface", name: "remind", args: []string{"noface"}, lang: EN},
		{text: "remind /noface", name: "remind", args: []string{"/noface"}, lang: EN},
		{text: "remind people with no face photo", name: "remind", args: []string{"people", "with", "no", "face", "photo"}, lang: EN},

		// unknown, no suggestion: no phrase may make an unrelated sentence match
		{text: "hello", lang: EN},
		{text: "hi", lang: EN},
		{text: "thanks!", lang: EN},
		{text: "今天天气怎么样", lang: ZH},
		{text: "", lang: ZH},
		{text: "", def: EN, lang: EN},
		{text: "？？？", lang: ZH},
		{text: "12345", def: EN, lang: EN},
		{text: "/", lang: ZH},
		{text: "I have no face", lang: EN},
		{text: "我没有人脸", lang: ZH},
		{text: "who has a face photo", lang: EN},
		{text: "no face recognition today", lang: EN},
		{text: "who has no face photo and no card", lang: EN},
		{text: "谁没有人脸和门禁卡", lang: ZH},
		{text: "我们没有人脸识别吗", lang: ZH},
		{text: "没有卡顿", lang: ZH},
		{text: "人脸", lang: ZH},
		{text: "门禁卡", lang: ZH},
		{text: "card reader is broken", lang: EN},
		{text: "卡号是多少", lang: ZH},
		{text: "summary of the meeting", lang: EN},
		{text: "stats are weird today", lang: EN},
		{text: "提醒我明天开会", lang: ZH},
		{text: "remind me to call mom", lang: EN},
		{text: "subscribe to the newsletter", lang: EN},
		{text: "订阅 25:00", lang: ZH},
		{text: "start", lang: EN},
		{text: "who is there", lang: EN},
		{text: "find my keys", lang: EN},
		{text: "/" + strings.Repeat("x", 40), lang: ZH},

		// unknown, with a suggestion
		{text: "/nofce", name: "", lang: ZH, suggest: "/noface"},
		{text: "/NOFCE", lang: ZH, suggest: "/noface"},
		{text: "/stat", lang: ZH, suggest: "/stats"},
		{text: "/hepl", lang: ZH, suggest: "/help"},
		{text: "/users", def: EN, lang: EN, suggest: "/user"},
		{text: "/subscribtions", lang: ZH, suggest: "/subscriptions"},
		{text: "/unsubscrib", lang: ZH, suggest: "/unsubscribe"},
		{text: "/nocards please", lang: ZH, suggest: "/nocard"},
		{text: "/统计", lang: ZH, suggest: "/stats"},
		{text: "/summary", lang: ZH, suggest: "/stats"},
		{text: "nocards", lang: EN, suggest: "/nocard"},
		{text: "stat", lang: EN, suggest: "/stats"},
		{text: "refesh", lang: EN, suggest: "/refresh"},
		{text: "ｎｏｆｃｅ", lang: EN, suggest: "/noface"},
		{text: "push", lang: EN, suggest: "/push"},
		{text: "card", lang: EN, suggest: "/card"},
		{text: "卡号", lang: ZH, suggest: "/card"},
		{text: "提醒", lang: ZH, suggest: "/remind"},
		{text: "查询", lang: ZH, suggest: "/user", solo: true},
		{text: "look up", lang: EN, suggest: "/user", solo: true},

		// doors and door records
		{text: "/doors", name: "doors", lang: ZH},
		{text: "doors", name: "doors", lang: EN},
		{text: "show me the doors", name: "doors", lang: EN},
		{text: "门禁设备", name: "doors", lang: ZH},
		{text: "看看门禁设备", name: "doors", lang: ZH},
		{text: "/access", name: "access", lang: ZH},
		{text: "/access @_user_2 2026-11-25", name: "access", args: []string{"2026-11-25"}, users: []string{aliceID}, lang: ZH},
		{text: "/access yesterday", name: "access", args: []string{"yesterday"}, lang: ZH},
		{text: "access", name: "access", lang: EN},
		{text: "access 2026-11-25", name: "access", args: []string{"2026-11-25"}, lang: EN},
		{text: "access @_user_2", name: "access", users: []string{aliceID}, lang: EN},
		{text: "通行记录", name: "access", lang: ZH},
		{text: "通行记录 @_user_2 2026-11-25", name: "access", args: []string{"2026-11-25"}, users: []string{aliceID}, lang: ZH},
		{text: "通行记录2026-13-45", name: "access", args: []string{"2026-13-45"}, lang: ZH},
		{text: "access is broken", lang: EN},
	}
}

// form is one way the same text reaches the bot: in a direct chat, or in a group
// with the bot's mention first, last or in the middle, or with someone else
// mentioned too.
type form struct {
	name  string
	text  func(string) (string, bool) // false: the form does not apply
	extra []string                    // users the form adds
}

func forms() []form {
	always := func(f func(string) string) func(string) (string, bool) {
		return func(s string) (string, bool) { return f(s), true }
	}
	return []form{
		{name: "p2p", text: always(func(s string) string { return s })},
		{name: "bot first", text: always(func(s string) string { return "@_user_1 " + s })},
		{name: "bot first no space", text: always(func(s string) string { return "@_user_1" + s })},
		{name: "bot last", text: always(func(s string) string { return s + " @_user_1" })},
		{name: "bot middle", text: func(s string) (string, bool) {
			s = strings.TrimSpace(s)
			i := strings.LastIndex(s, " ")
			if i < 0 {
				return "", false
			}
			return s[:i] + " @_user_1 " + s[i+1:], true
		}},
		{name: "bot and bob", extra: []string{bobID}, text: always(func(s string) string { return "@_user_1 " + s + " @_user_3" })},
	}
}

func TestParse(t *testing.T) {
	r := Default()
	for _, c := range commandCases() {
		for _, f := range forms() {
			text, ok := f.text(c.text)
			if !ok || (c.solo && f.extra != nil) {
				continue
			}
			t.Run(f.name+"/"+c.text, func(t *testing.T) {
				got := r.Parse(input(text, c.def))
				if got.Spec.Name != c.name || got.Known != (c.name != "") {
					t.Fatalf("Parse(%q) = command %q known %v, want %q", text, got.Spec.Name, got.Known, c.name)
				}
				if !equalWords(got.Args, c.args) {
					t.Errorf("Parse(%q).Args = %q, want %q", text, got.Args, c.args)
				}
				if want := append(slices.Clone(c.users), f.extra...); !equalWords(got.Users, want) {
					t.Errorf("Parse(%q).Users = %q, want %q", text, got.Users, want)
				}
				if got.Lang != c.lang {
					t.Errorf("Parse(%q).Lang = %q, want %q", text, got.Lang, c.lang)
				}
				if got.Suggest != c.suggest {
					t.Errorf("Parse(%q).Suggest = %q, want %q", text, got.Suggest, c.suggest)
				}
			})
		}
	}
}

// equalWords treats nil and empty alike: both mean "none".
func equalWords(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

func TestParseMentions(t *testing.T) {
	r := Default()
	cases := []struct {
		name      string
		text      string
		mentions  []Mention
		botOpenID string
		wantText  string
		wantUsers []string
	}{
		{name: "bot only", text: "@_user_1", mentions: testMentions, botOpenID: botID, wantText: ""},
		{name: "others in text order", text: "@_user_1 /user @_user_3 @_user_2", mentions: testMentions, botOpenID: botID, wantText: "/user", wantUsers: []string{bobID, aliceID}},
		{name: "same person twice", text: "/user @_user_2 @_user_2", mentions: testMentions, botOpenID: botID, wantText: "/user", wantUsers: []string{aliceID}},
		{name: "two keys for one person", text: "/user @_user_2 @_user_4", mentions: append(slices.Clone(testMentions), Mention{Key: "@_user_4", OpenID: aliceID}), botOpenID: botID, wantText: "/user", wantUsers: []string{aliceID}},
		{name: "longer key not read as shorter", text: "/user @_user_12", mentions: append(slices.Clone(testMentions), Mention{Key: "@_user_12", OpenID: "ou_twelve"}), botOpenID: botID, wantText: "/user", wantUsers: []string{"ou_twelve"}},
		{name: "placeholder with no mention dropped", text: "/user @_user_9", mentions: testMentions, botOpenID: botID, wantText: "/user"},
		{name: "at all dropped", text: "@_all 谁没有人脸", mentions: testMentions, botOpenID: botID, wantText: "谁没有人脸"},
		{name: "at all prefix of a word kept", text: "@_allx", mentions: testMentions, botOpenID: botID, wantText: "@_allx"},
		{name: "no digits is text", text: "@_user_ hi", mentions: testMentions, botOpenID: botID, wantText: "@_user_ hi"},
		{name: "mention with no open id", text: "/user @_user_2", mentions: []Mention{{Key: "@_user_2"}}, botOpenID: botID, wantText: "/user"},
		{name: "no mentions listed", text: "@_user_1 /stats", botOpenID: botID, wantText: "/stats"},
		{name: "bot id unknown", text: "@_user_1 /stats", mentions: testMentions, wantText: "/stats", wantUsers: []string{botID}},
		{name: "placeholder glued to text", text: "谁@_user_1没有人脸", mentions: testMentions, botOpenID: botID, wantText: "谁 没有人脸"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := r.Parse(Input{Text: c.text, Mentions: c.mentions, BotOpenID: c.botOpenID})
			if got.Text != c.wantText {
				t.Errorf("Text = %q, want %q", got.Text, c.wantText)
			}
			if !equalWords(got.Users, c.wantUsers) {
				t.Errorf("Users = %q, want %q", got.Users, c.wantUsers)
			}
		})
	}
}

func TestParseText(t *testing.T) {
	r := Default()
	cases := []struct{ in, want string }{
		{"  ＷＨＯ has   no face photo？ ", "who has no face photo"},
		{"@_user_1 /subscribe ０９：３０", "/subscribe 09:30"},
		{"、stats", "/stats"},
		{"、、stats", "stats"},
		{"。。谁没有人脸。。", "谁没有人脸"},
		{"/card 12,34", "/card 12,34"},
		{"…help…", "help"},
		{"line\none", "line one"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if got := r.Parse(input(c.in, "")).Text; got != c.want {
				t.Errorf("Parse(%q).Text = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestParseHugeInput(t *testing.T) {
	r := Default()
	cases := []struct {
		name     string
		text     string
		wantName string
		wantArgs int
	}{
		{name: "long slash args", text: "/card " + strings.Repeat("1 ", 5000), wantName: "card", wantArgs: 5000},
		{name: "long question is no question", text: strings.Repeat("谁没有人脸", 2000)},
		{name: "long english", text: strings.Repeat("who has no face photo ", 500)},
		{name: "long word", text: strings.Repeat("a", 10000)},
		{name: "long slash name", text: "/" + strings.Repeat("nofce", 2000)},
		{name: "many mentions", text: strings.Repeat("@_user_2 @_user_1 @_user_77 ", 400) + "/stats", wantName: "stats"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := r.Parse(input(c.text, ""))
			if got.Spec.Name != c.wantName || len(got.Args) != c.wantArgs {
				t.Errorf("Parse = %q with %d args, want %q with %d", got.Spec.Name, len(got.Args), c.wantName, c.wantArgs)
			}
			if got.Suggest != "" {
				t.Errorf("Suggest = %q for huge text, want none", got.Suggest)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	cases := []struct {
		a, b  string
		limit int
		want  int
	}{
		{"help", "help", 2, 0},
		{"hepl", "help", 2, 1},
		{"nofce", "noface", 2, 1},
		{"hello", "help", 2, 2},
		{"hello", "help", 1, 2},
		{"", "abc", 5, 3},
		{"abc", "", 1, 2},
		{"人脸", "人险", 2, 1},
		{"abcdefgh", "hgfedcba", 2, 3},
	}
	for _, c := range cases {
		t.Run(c.a+"~"+c.b, func(t *testing.T) {
			if got := distance(c.a, c.b, c.limit); got != c.want {
				t.Errorf("distance(%q, %q, %d) = %d, want %d", c.a, c.b, c.limit, got, c.want)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	r := Default()
	cases := []struct{ name, text string }{
		{"slash", "@_user_1 /subscribe 09:30"},
		{"english question", "@_user_1 which users have no face photo?"},
		{"chinese question", "@_user_1 哪些人还没有录入人脸？"},
		{"chinese args", "@_user_1 提醒没有人脸的人"},
		{"suggestion", "/nofce"},
		{"unknown sentence", "@_user_1 今天天气怎么样，要不要一起去吃饭"},
		{"10k chinese", strings.Repeat("谁没有人脸", 2000)},
		{"10k english", strings.Repeat("who has no face photo ", 455)},
		{"10k slash", "/card " + strings.Repeat("1 ", 5000)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			in := input(c.text, "")
			b.SetBytes(int64(len(c.text)))
			b.ReportAllocs()
			for b.Loop() {
				r.Parse(in)
			}
		})
	}
}
