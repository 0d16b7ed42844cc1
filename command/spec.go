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
	// Usage is the slash form with its arguments, e.g. "/card <number>".
	Usage string
	// Help is a one-line description per language.
	Help map[Lang]string
	// Examples are typed examples per language, shown on the help card.
	Examples map[Lang][]string
}

// Slash is the command's slash form, e.g. "/noface".
func (s Spec) Slash() string { return "/" + s.Name }
