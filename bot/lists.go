package bot

import (
	"acsbot/acs"
	"acsbot/cards"
)

// list is one kind of list the bot shows: its card kind, the command that asks for
// it, and who is on it. Commands, page clicks and reminders all read this table.
type list struct {
	kind    cards.ListKind
	command string
	members func(*acs.Snapshot) []acs.User
}

var lists = []list{
	{cards.NoFace, "noface", (*acs.Snapshot).NoFace},
	{cards.NoCard, "nocard", (*acs.Snapshot).NoCard},
}

// listOf finds a list by its card kind or its command's name.
func listOf(kindOrCommand string) (list, bool) {
	for _, l := range lists {
		if string(l.kind) == kindOrCommand || l.command == kindOrCommand {
			return l, true
		}
	}
	return list{}, false
}
