package cards

import (
	"fmt"
	"strings"

	"acsbot/command"
)

type helpText struct {
	title, summary string
	didYouMean     func(cmd string) string
	examples       string
	footer         string
}

func helpStrings(lang command.Lang) helpText {
	return pick(lang, helpText{
		title:      "门禁机器人能做什么",
		summary:    "门禁机器人帮助",
		didYouMean: func(cmd string) string { return fmt.Sprintf("你是不是想输入 %s？", cmd) },
		examples:   "例如：",
		footer:     "在群里请先 @我 再输入命令；中文、英文都可以。",
	}, helpText{
		title:      "What I can do",
		summary:    "Access control bot help",
		didYouMean: func(cmd string) string { return fmt.Sprintf("Did you mean %s?", cmd) },
		examples:   "e.g. ",
		footer:     "In a group, @mention me first. Commands work in English or Chinese.",
	})
}

// Help lists the commands the asker may run (specs, already filtered for them),
// each with its usage, help and examples; "did you mean" comes first when the
// parser had a suggestion.
func Help(lang command.Lang, specs []command.Spec, suggest string) Card {
	t := helpStrings(lang)
	summary := t.summary
	var elems []Element
	if suggest != "" {
		cmd := "/" + strings.TrimPrefix(suggest, "/")
		summary = t.didYouMean(cmd)
		elems = append(elems, md("**"+t.didYouMean(EscapeMarkdown(cmd))+"**"), Hr{Tag: "hr"})
	}
	elems = append(elems, commandList(lang, specs)...)
	elems = append(elems, note(t.footer))
	return newCard(t.title, "blue", summary, elems...)
}

// commandList is every command of specs, in one markdown component however
// many there are, to stay far from the 200-component limit.
func commandList(lang command.Lang, specs []command.Spec) []Element {
	if len(specs) == 0 {
		return nil
	}
	blocks := make([]string, len(specs))
	for i, s := range specs {
		blocks[i] = commandBlock(lang, s)
	}
	return []Element{md(strings.Join(blocks, "\n\n"))}
}

// commandBlock is one command on the help card: usage in bold, what it does,
// and examples. Registry text is escaped too: usages hold "<number>", which
// markdown would take for a tag.
func commandBlock(lang command.Lang, s command.Spec) string {
	usage := s.Usage
	if usage == "" {
		usage = s.Slash()
	}
	line := "**" + EscapeMarkdown(usage) + "**"
	if h := localized(lang, s.Help); h != "" {
		line += "　" + EscapeMarkdown(h)
	}
	if ex := s.Examples[lang]; len(ex) > 0 {
		quoted := make([]string, len(ex))
		for i, e := range ex {
			quoted[i] = "“" + EscapeMarkdown(e) + "”"
		}
		line += br + helpStrings(lang).examples + strings.Join(quoted, " · ")
	}
	return line
}

// localized is a registry text in lang, else in the other language.
func localized(lang command.Lang, texts map[command.Lang]string) string {
	if s := texts[lang]; s != "" {
		return s
	}
	return texts[pick(lang, command.EN, command.ZH)]
}

type welcomeText struct{ title, intro, group, direct string }

// Welcome greets a person who opens a chat with the bot, or a group that adds
// it: what the bot is for, the commands they may run (specs, already filtered
// for their role), and a line on how to talk to it in this kind of chat.
func Welcome(lang command.Lang, specs []command.Spec, group bool) Card {
	t := pick(lang, welcomeText{
		title:  "你好，我是门禁机器人 👋",
		intro:  "我可以告诉你门禁系统里谁还没有录入人脸、谁没有门禁卡，并每天把概况发到订阅的群里。",
		group:  "在本群里请先 @我 再输入命令。管理员可以发送 /subscribe 让本群每天收到门禁日报。",
		direct: "在这里直接给我发消息即可，不用 @我。",
	}, welcomeText{
		title:  "Hi, I'm the access control bot 👋",
		intro:  "I can tell you who has no face photo or no access card in access control, and post a daily summary to subscribed chats.",
		group:  "In this group, @mention me first. Admins can send /subscribe to get the daily summary here.",
		direct: "Just message me here; no @mention needed.",
	})
	elems := []Element{md(t.intro)}
	elems = append(elems, commandList(lang, specs)...)
	line := t.direct
	if group {
		line = t.group
	}
	elems = append(elems, note(line))
	return newCard(t.title, "turquoise", t.title, elems...)
}

type refusedText struct{ title, text string }

// Refused tells someone, politely, that they may not use a command here, and
// whom to ask. It says nothing about the directory.
func Refused(lang command.Lang) Card {
	t := pick(lang, refusedText{
		title: "无法在这里使用",
		text:  "抱歉，你不能在这里使用这个命令。门禁数据只对门禁管理员和已授权群的成员开放。" + br + "如有需要，请联系门禁管理员，把你或本群加入授权名单。",
	}, refusedText{
		title: "Not available here",
		text:  "Sorry, you can't use this command here. Access control data is shared only with ACS admins and members of the chats they have authorised." + br + "If you need it, ask an ACS admin to add you or this chat.",
	})
	return newCard(t.title, "orange", t.title, md(t.text))
}

type usageText struct {
	title   string
	bad     func(arg, cmd string) string
	missing func(cmd string) string
}

// Usage answers a command with bad arguments ("/card abc"): what was wrong, then
// how the command is used. problem is the user's argument text, repeated safely.
func Usage(lang command.Lang, spec command.Spec, problem string) Card {
	t := pick(lang, usageText{
		title:   "命令格式不对",
		bad:     func(arg, cmd string) string { return fmt.Sprintf("%s 无法使用参数 “%s”。", cmd, arg) },
		missing: func(cmd string) string { return fmt.Sprintf("%s 缺少参数。", cmd) },
	}, usageText{
		title:   "Check the command",
		bad:     func(arg, cmd string) string { return fmt.Sprintf("%s can't use “%s”.", cmd, arg) },
		missing: func(cmd string) string { return fmt.Sprintf("%s needs an argument.", cmd) },
	})
	cmd := "**" + EscapeMarkdown(spec.Slash()) + "**"
	what := t.missing(cmd)
	if strings.TrimSpace(problem) != "" {
		what = t.bad(echo(problem), cmd)
	}
	return newCard(t.title, "orange", t.title, md(what), md(commandBlock(lang, spec)))
}

type errorText struct {
	title  string
	lead   string
	reason func(msg string) string
	code   func(n int) string
	retry  string
}

// Error says the Feishu ACS could not be read, with Feishu's message and code
// (0: none) for whoever reports it. msg is repeated safely and clipped; the
// caller must not pass anything secret in it.
func Error(lang command.Lang, code int, msg string) Card {
	t := pick(lang, errorText{
		title:  "暂时无法访问飞书门禁",
		lead:   "暂时无法访问飞书门禁",
		reason: func(msg string) string { return "：" + msg },
		code:   func(n int) string { return fmt.Sprintf("（错误码 %d）", n) },
		retry:  "。请稍后再试；如果一直失败，请联系门禁管理员。",
	}, errorText{
		title:  "Can't reach Feishu ACS",
		lead:   "Couldn't reach Feishu ACS",
		reason: func(msg string) string { return ": " + msg },
		code:   func(n int) string { return fmt.Sprintf(" (code %d)", n) },
		retry:  ". Please try again in a minute; if it keeps failing, tell an ACS admin.",
	})
	text := t.lead
	if m := strings.TrimSpace(msg); m != "" {
		text += t.reason(echo(m))
	}
	if code != 0 {
		text += t.code(code)
	}
	return newCard(t.title, "red", t.title, md(text+t.retry))
}
