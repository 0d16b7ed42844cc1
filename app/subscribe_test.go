package app_test

import (
	"context"
	"strings"
	"testing"

	"acsbot/clock"
	"acsbot/store"
)

// subscribedAt is the chat's subscription time, or "" when it has none.
func subscribedAt(t *testing.T, st *store.Store, chatID string) string {
	t.Helper()
	subs, err := st.Subscriptions(context.Background())
	if err != nil {
		t.Fatalf("list subscriptions: %v", err)
	}
	for _, s := range subs {
		if s.ChatID == chatID {
			return s.At
		}
	}
	return ""
}

// Subscribing, changing the time, bad times, refusals and unsubscribing, in the order
// an admin would meet them; each step checks the reply and what was stored.
func TestSubscribeCommands(t *testing.T) {
	clock := clock.NewFake(at("2026-11-25", "08:00"))
	h := newHarness(t, harnessOpts{Clock: clock})
	st := h.DB()
	steps := []struct {
		name         string
		chat, sender string
		text         string
		want         []string // each must appear in the reply
		wantAt       string   // the chat's subscription time afterwards; "" = none
	}{
		{"default time, due later today", readerChat, adminID, "/subscribe",
			[]string{"Facility team", "09:00", "2026-11-25 09:00", "Asia/Shanghai"}, "09:00"},
		{"subscribing again changes the time", readerChat, adminID, "/subscribe 18:30",
			[]string{"18:30", "2026-11-25 18:30"}, "18:30"},
		{"Chinese, one-digit hour, already past today", readerChat, adminID, "订阅 7:05",
			[]string{"07:05", "2026-11-26 07:05"}, "07:05"},
		{"full-width digits", readerChat, adminID, "／subscribe ２３：５９",
			[]string{"23:59", "2026-11-25 23:59"}, "23:59"},
		{"hour out of range", readerChat, adminID, "/subscribe 25:00", []string{"25:00", "HH:MM"}, "23:59"},
		{"hour in Chinese", readerChat, adminID, "/subscribe 9点", []string{"9点", "HH:MM"}, "23:59"},
		{"not a time", readerChat, adminID, "/subscribe abc", []string{"abc", "HH:MM"}, "23:59"},
		{"two times", readerChat, adminID, "/subscribe 09:00 10:00", []string{"HH:MM"}, "23:59"},
		{"a reader may not subscribe", readerChat, readerID, "/subscribe 10:00", []string{"无法在这里使用"}, "23:59"},
		{"a reader may not unsubscribe", readerChat, readerID, "/unsubscribe", []string{"无法在这里使用"}, "23:59"},
		{"unsubscribe", readerChat, adminID, "取消订阅", []string{"Facility team", "不会再收到"}, ""},
		{"unsubscribe when not subscribed", readerChat, adminID, "/unsubscribe", []string{"本来就没有"}, ""},
		{"a direct chat, named by its id", adminP2P, adminID, "/subscribe 12:00",
			[]string{adminP2P, "12:00", "2026-11-25 12:00"}, "12:00"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			chatType := "group"
			if s.chat == adminP2P {
				chatType = "p2p"
			}
			got := h.Ask(chatType, s.chat, s.sender, s.text)
			for _, w := range s.want {
				if !strings.Contains(got, w) {
					t.Errorf("reply to %q lacks %q:\n%s", s.text, w, got)
				}
			}
			if at := subscribedAt(t, st, s.chat); at != s.wantAt {
				t.Errorf("after %q the chat is subscribed at %q, want %q", s.text, at, s.wantAt)
			}
		})
	}
}

func TestSubscriptionsList(t *testing.T) {
	clock := clock.NewFake(at("2026-11-25", "08:00"))
	h := newHarness(t, harnessOpts{Clock: clock})

	if got := h.Ask("p2p", adminP2P, adminID, "/subscriptions"); !strings.Contains(got, "还没有群订阅") {
		t.Fatalf("empty list does not say so:\n%s", got)
	}
	h.Ask("group", readerChat, adminID, "/subscribe 08:30")
	h.Ask("group", otherChat, adminID, "/subscribe 17:00")
	got := h.Ask("p2p", adminP2P, adminID, "订阅列表")
	for _, w := range []string{"Facility team", "08:30", "Lunch", "17:00", adminID, "从未发送", "Asia/Shanghai"} {
		if !strings.Contains(got, w) {
			t.Errorf("subscriptions card lacks %q:\n%s", w, got)
		}
	}
	if got := h.Ask("group", readerChat, readerID, "/subscriptions"); strings.Contains(got, "Lunch") {
		t.Errorf("a reader saw the subscriptions:\n%s", got)
	}
}

// Removing the bot from a chat removes the chat's subscription, once, however often
// Feishu delivers the event.
func TestBotRemovedFromChatUnsubscribes(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	st := h.DB()
	h.Ask("group", readerChat, adminID, "/subscribe 09:00")
	h.Ask("group", otherChat, adminID, "/subscribe 10:00")

	ev := h.Fake.Event("im.chat.member.bot.deleted_v1", map[string]any{
		"chat_id":     readerChat,
		"operator_id": map[string]any{"open_id": adminID},
		"external":    false,
		"name":        "Facility team",
	})
	for i := 0; i < 2; i++ {
		if status, body := h.Deliver(ev); status != 200 {
			t.Fatalf("delivery %d: status %d: %s", i+1, status, body)
		}
	}
	h.Eventually("the subscription to go", func() bool { return subscribedAt(t, st, readerChat) == "" })
	if at := subscribedAt(t, st, otherChat); at != "10:00" {
		t.Fatalf("another chat's subscription changed: %q", at)
	}

	bad := h.Fake.Event("im.chat.member.bot.deleted_v1", map[string]any{"chat_id": otherChat})
	bad.Header.Token = "not-the-token"
	if status, _ := h.Deliver(bad); status != 403 {
		t.Fatalf("event with a wrong token: status %d, want 403", status)
	}
	if at := subscribedAt(t, st, otherChat); at != "10:00" {
		t.Fatalf("a refused event removed a subscription")
	}
}
