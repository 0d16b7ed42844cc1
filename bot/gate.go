package bot

import (
	"acsbot/command"
	"acsbot/config"
)

// gate is the access policy, the one place that decides who may do what, where:
// for typed commands, menu items and card clicks alike.
type gate struct{ cfg *config.Config }

// role is what openID may do in chatID: admins anywhere, anyone in a reader chat
// may read. chatID "" is a direct chat reached without one (a menu click), where
// only admins are more than anyone.
func (g gate) role(openID, chatID string) command.Role {
	switch {
	case g.cfg.IsAdmin(openID):
		return command.Admin
	case chatID != "" && g.cfg.IsReaderChat(chatID):
		return command.Reader
	default:
		return command.Anyone
	}
}

// may reports whether openID may run spec in chatID.
func (g gate) may(spec command.Spec, openID, chatID string) bool {
	return g.role(openID, chatID) >= spec.Role
}

// showCardNumbers reports whether a card for openID may show full card numbers: only
// to an admin, and only in a direct chat, where nobody else reads along.
func (g gate) showCardNumbers(openID string, directChat bool) bool {
	return directChat && g.cfg.IsAdmin(openID)
}
