package bot_test

import (
	"strings"
	"testing"

	"acsbot/bottest"
	"acsbot/feishufake"
)

// One gate answers for typed commands, menu items and card clicks: an outsider is
// refused the list whichever way they ask for it, a reader gets it in a reader chat.
func TestOneGateForMessagesMenusAndClicks(t *testing.T) {
	b := bottest.New(t, bottest.Options{Users: feishufake.GenerateUsers(3000, 2)})
	const refusedZH = "无法在这里使用"

	if got := b.Ask("group", bottest.OtherChat, bottest.OutsiderID, "/noface"); !strings.Contains(got, refusedZH) {
		t.Fatalf("outsider's /noface was not refused:\n%s", got)
	}
	ev := b.Say("group", bottest.ReaderChat, bottest.ReaderID, "/noface")
	list := b.ReplyTo(bottest.MessageID(t, ev))
	if got := bottest.Texts(t, list.Content); strings.Contains(got, refusedZH) {
		t.Fatalf("reader's /noface was refused:\n%s", got)
	}
	var next map[string]any
	for _, v := range bottest.CallbackValues(t, list.Content) {
		if v["a"] == "page" {
			next = v
		}
	}
	if next == nil {
		t.Fatalf("no page button on the list: %s", list.Content)
	}
	if a := b.Click(bottest.OutsiderID, bottest.OtherChat, list, next); a.Card != nil || a.Toast.Type != "error" {
		t.Fatalf("outsider's click answered %+v, want an error toast and no card", a)
	}
	// A group's card is everyone's: the next page comes as a new card under it.
	if a := b.Click(bottest.ReaderID, bottest.ReaderChat, list, next); a.Card != nil || a.Toast.Type != "info" {
		t.Fatalf("reader's click answered %+v, want a toast and the list left as it is", a)
	}
	b.Eventually("the next page under the list", func() bool { return b.RepliesTo(list.ID) == 1 })

	// The menu answers by direct message with the clicker's rights there: an
	// outsider's "noface" item is refused, an admin's is the list.
	for _, who := range []string{bottest.OutsiderID, bottest.AdminID} {
		status, body := b.Deliver(b.Fake.Event("application.bot.menu_v6", map[string]any{
			"operator":  map[string]any{"operator_id": map[string]any{"open_id": who}},
			"event_key": "noface",
		}))
		if status != 200 {
			t.Fatalf("menu click: %d %s", status, body)
		}
	}
	var outsider, admin string
	b.Eventually("two menu answers", func() bool {
		for _, m := range b.Fake.Messages() {
			if m.Kind != "create" || m.ReceiveIDType != "open_id" {
				continue
			}
			switch m.ReceiveID {
			case bottest.OutsiderID:
				outsider = bottest.Texts(t, m.Content)
			case bottest.AdminID:
				admin = bottest.Texts(t, m.Content)
			}
		}
		return outsider != "" && admin != ""
	})
	if !strings.Contains(outsider, refusedZH) || strings.Contains(admin, refusedZH) {
		t.Fatalf("menu: outsider got\n%s\nadmin got\n%s", outsider, admin)
	}
}
