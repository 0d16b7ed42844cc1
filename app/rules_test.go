package app_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"acsbot/acs"
	"acsbot/clock"
	"acsbot/feishufake"
)

// The rules of the real platform (docs/reliability.md, "Rules of the real platform"):
// each test fails against a bot that ignores its rule, since the fake enforces it.

// A round queued by the Send click ends on its result card whatever the timing: a
// round with nothing to send, or refused for everyone at once, updates the card
// while Feishu still holds it locked for the click, and tries again once the
// click's answer shows.
func TestRoundEndsInItsFinalStateDespiteTheClickLock(t *testing.T) {
	cases := []struct {
		name  string
		prime func(h *harness, noFace []acs.User)
		want  string
	}{
		{"nothing to send", func(h *harness, _ []acs.User) {
			msg, send, _ := h.confirm() // a first round reminds everyone
			h.click(adminID, msg, send)
			h.result(msg)
		}, "**3**\n已跳过"},
		{"refused for everyone", func(h *harness, noFace []acs.User) {
			h.Fake.InjectMessageFault(feishufake.MessageFault{Code: 99991672, ReceiveID: noFace[0].ID})
		}, "**3**\n发送失败"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			users := remindUsers(3)
			h := newHarness(t, harnessOpts{Users: users})
			c.prime(h, noFaceOf(users))
			// The client takes a second to show the answer: the round's last update
			// comes while the card is locked.
			h.Fake.SetAnswerDelay(time.Second)
			msg, send, _ := h.confirm()
			h.click(adminID, msg, send)
			if got := h.result(msg); !strings.Contains(got, c.want) {
				t.Fatalf("result lacks %q:\n%s", c.want, got)
			}
			locked := 0
			for _, call := range h.callsTo("/open-apis/im/v1/messages/" + msg.ID) {
				if strings.Contains(call.RespBody, "card action is lock") {
					locked++
				}
			}
			if locked == 0 {
				t.Fatal("no update met the lock: the test did not race the click")
			}
		})
	}
}

// A round's progress shows at most at every tenth of it, however long it runs.
func TestRoundProgressAtMostTenUpdates(t *testing.T) {
	users := remindUsers(130) // 13 s at 10 a second: once a second would be 13 updates
	h := newHarness(t, harnessOpts{Users: users})
	msg, send, _ := h.confirm()
	h.click(adminID, msg, send)
	h.Eventually("half the round", func() bool { return len(h.reminders()) >= len(users)/2 })
	h.result(msg)
	for _, m := range h.Fake.Messages() {
		if m.ID == msg.ID && (m.Patches < 2 || m.Patches > 10) {
			t.Fatalf("%d updates of the card, want some progress and at most 10 in all", m.Patches)
		}
	}
}

// An ACS entry whose id the company directory does not know (someone who left)
// is still answered: the card says they are not in the directory, where a person
// component naming them would make Feishu refuse the whole answer.
func TestLookupOfSomeoneNotInTheDirectory(t *testing.T) {
	gone := acs.User{ID: "ou_gone0000000000000000000000000001", Card: 4242, FaceUploaded: true}
	h := newHarness(t, harnessOpts{Users: []acs.User{gone, {ID: "ou_here0000000000000000000000000002"}}})
	h.Fake.RemoveFromDirectory(gone.ID)
	got := h.Ask("p2p", adminP2P, adminID, "/user "+gone.ID)
	for _, want := range []string{gone.ID, "不在公司通讯录中", "已录入人脸"} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
}

// Thirty people asking in one group at once are all answered, once each, though
// Feishu takes only 5 messages a second into one chat.
func TestBurstInOneGroupAllAnswered(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.Ask("group", readerChat, readerID, "/stats") // the directory is read once, before the burst
	var evs []feishufake.Envelope
	for range 30 {
		evs = append(evs, h.Fake.MessageEvent(feishufake.UserMessage{ChatID: readerChat, ChatType: "group", SenderOpenID: readerID, Text: "/stats", MentionBot: true}))
	}
	var wg sync.WaitGroup
	for _, ev := range evs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, _ := h.Deliver(ev); status != 200 {
				t.Errorf("status %d", status)
			}
		}()
	}
	wg.Wait()
	for _, ev := range evs {
		id := messageID(t, ev)
		h.ReplyTo(id)
		if n := h.RepliesTo(id); n != 1 {
			t.Errorf("%d replies to %s, want 1", n, id)
		}
	}
}

// A round resumed after the bot was down for more than 14 days cannot update its
// confirm card any more: it says how it went in a new message in the same chat.
func TestResumedRoundOnAnOldCardSendsANewMessage(t *testing.T) {
	users := remindUsers(30) // 3 s at 10 a second
	clk := clock.NewFake(at("2026-11-25", "10:00"))
	h := newHarness(t, harnessOpts{Users: users, Clock: clk})
	msg, send, _ := h.confirm()
	h.click(adminID, msg, send)
	h.Eventually("the round to be under way", func() bool { return len(h.reminders()) >= 3 })
	h.Stop()
	if len(h.reminders()) == 30 {
		t.Fatal("the round ended before the stop; the test needs it cut short")
	}
	clk.Add(15 * 24 * time.Hour)
	h.Start()
	h.Eventually("the result in a new message", func() bool {
		for _, m := range h.Fake.Messages() {
			if m.Kind == "create" && m.ChatID == adminP2P && strings.Contains(m.Content, "提醒已发送") {
				return true
			}
		}
		return false
	})
}
