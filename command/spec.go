// Package command holds the bot's command grammar: one registry of commands, each
// declaring its names, who may run it and its help, and the parser that turns a chat
// message into a command run. The help card, "did you mean" and the access check all
// read the same registry, so they cannot drift apart.
package command

// Lang is a reply language, named as Feishu names locales.
type Lang string

// The languages the bot speaks.
const (
	ZH Lang = "zh_cn"
	EN Lang = "en_us"
)

// Role is who may run a command. Roles are ordered: an admin is also a reader.
type Role int

// The roles, weakest first.
const (
	Anyone Role = iota // anybody who can message the bot
	Reader             // admins, and members of the chats in access.chats
	Admin              // the open ids in access.admins
)

// Spec declares one command.
type Spec struct {
	Name    string   // stable id, e.g. "noface"; also the slash name without "/"
	English []string // phrases understood besides the slash form, lower case
	Chinese []string // Chinese phrases understood
	Role    Role     // the weakest role allowed to run it
	// Arg is what the phrase form must be followed by. The slash form takes any
	// arguments and leaves checking them to the command, because a slash is
	// unmistakably meant for the bot while a phrase may be ordinary chat.
	Arg ArgKind
	// Usage is the slash form with its arguments, e.g. "/card <number>".
	Usage string
	// Help is a one-line description per language.
	Help map[Lang]string
	// Examples are typed examples per language, shown on the help card.
	Examples map[Lang][]string
}

// Slash is the command's slash form, e.g. "/noface".
func (s Spec) Slash() string { return "/" + s.Name }

// ArgKind is what a command's phrase form takes after the phrase. It keeps a sentence
// that merely starts with a command word ("card reader is broken") from running it.
type ArgKind int

// The argument kinds.
const (
	// ArgNone: the phrase stands alone, or inside a question made only of filler
	// words ("谁还没有人脸？", "which users have no face photo").
	ArgNone ArgKind = iota
	// ArgPerson: at least one @-mention and nothing else ("查询 @某人").
	ArgPerson
	// ArgNumber: exactly one decimal number ("卡号 123456").
	ArgNumber
	// ArgClock: nothing, or one HH:MM time of day ("订阅 09:30").
	ArgClock
	// ArgCommand: the words of another command ("提醒 没有人脸"); the command decides
	// which ones it accepts.
	ArgCommand
	// ArgDate: nothing, or one word of digits and dashes ("通行记录 @某人 2026-11-25"),
	// @-mentions allowed; the command checks the date, so a wrong one gets an answer
	// saying what is allowed rather than silence.
	ArgDate
)
