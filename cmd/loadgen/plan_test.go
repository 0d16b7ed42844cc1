package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"acsbot/config"

	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
)

// decoded is the part of a delivered event the plan tests look at.
type decoded struct {
	Header struct {
		EventID   string `json:"event_id"`
		EventType string `json:"event_type"`
	} `json:"header"`
	Event struct {
		Message struct {
			MessageID string `json:"message_id"`
			ChatID    string `json:"chat_id"`
			ChatType  string `json:"chat_type"`
			Content   string `json:"content"`
			Mentions  []struct {
				MentionedType string `json:"mentioned_type"`
			} `json:"mentions"`
		} `json:"message"`
		Sender struct {
			SenderID struct {
				OpenID string `json:"open_id"`
			} `json:"sender_id"`
		} `json:"sender"`
	} `json:"event"`
}

// open checks a delivery's signature as the bot does and decrypts it.
func open(t *testing.T, p *platform, d delivery) decoded {
	t.Helper()
	key := p.fake.Options().EncryptKey
	h := d.header
	want := larkevent.Signature(h.Get(larkevent.EventRequestTimestamp), h.Get(larkevent.EventRequestNonce), key, string(d.body))
	if got := h.Get(larkevent.EventSignature); got == "" || got != want {
		t.Fatalf("delivery not signed with the encrypt key")
	}
	var enc struct{ Encrypt string }
	if err := json.Unmarshal(d.body, &enc); err != nil || enc.Encrypt == "" {
		t.Fatalf("delivery body is not {\"encrypt\": ...}: %s", d.body)
	}
	plain, err := larkevent.EventDecrypt(enc.Encrypt, key)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	var v decoded
	if err := json.Unmarshal(plain, &v); err != nil {
		t.Fatalf("decrypted event is not JSON: %v", err)
	}
	return v
}

func TestBuildPlan(t *testing.T) {
	p := newPlatform(500, 0, config.DeliveryWebhook)
	defer p.Close()
	const n = 1000
	pl, err := buildPlan(context.Background(), p, n, 0.05, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.deliveries) != n {
		t.Fatalf("%d deliveries, want %d", len(pl.deliveries), n)
	}
	// Binomial(1000, 0.05) has a standard deviation of 7: these bounds hold for
	// any seed but a freak one.
	if pl.redelivered < 25 || pl.redelivered > 80 {
		t.Errorf("%d re-deliveries of 1000, want about 50", pl.redelivered)
	}
	if pl.callbacks < 25 || pl.callbacks > 80 {
		t.Errorf("%d callbacks of 1000, want about 50", pl.callbacks)
	}
	if got := len(pl.messageIDs) + pl.redelivered + pl.callbacks; got != n {
		t.Errorf("messages %d + re-deliveries %d + callbacks %d = %d, want %d", len(pl.messageIDs), pl.redelivered, pl.callbacks, got, n)
	}

	admins := map[string]bool{}
	for _, a := range p.pop.admins {
		admins[a] = true
	}
	firsts := map[string]string{} // message id -> event id of its first delivery
	chatKinds, chats, senders, texts := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	var redelivered, callbacks int
	for i, d := range pl.deliveries {
		v := open(t, p, d)
		msg := v.Event.Message
		switch d.kind {
		case callback:
			callbacks++
			if d.path != cardPath || v.Header.EventType != "card.action.trigger" {
				t.Fatalf("callback %d: %s %s", i, d.path, v.Header.EventType)
			}
			continue
		case redelivery:
			redelivered++
			if ev, ok := firsts[msg.MessageID]; !ok || ev != v.Header.EventID {
				t.Fatalf("re-delivery %d of %s (event %s) repeats no earlier delivery", i, msg.MessageID, v.Header.EventID)
			}
			continue
		}
		if _, dup := firsts[msg.MessageID]; dup || d.path != eventPath {
			t.Fatalf("first delivery %d: message id %s seen before, or path %s", i, msg.MessageID, d.path)
		}
		firsts[msg.MessageID] = v.Header.EventID
		chatKinds[msg.ChatType] = true
		chats[msg.ChatID] = true
		senders[v.Event.Sender.SenderID.OpenID] = true
		texts[msg.Content] = true
		mentionsBot := false
		for _, m := range msg.Mentions {
			mentionsBot = mentionsBot || m.MentionedType == "bot"
		}
		switch {
		case msg.ChatType == "p2p" && !admins[v.Event.Sender.SenderID.OpenID]:
			t.Errorf("direct message %d from a non-admin would be refused", i)
		case msg.ChatType == "group" && !mentionsBot:
			t.Errorf("group message %d does not @-mention the bot, so it would not be answered", i)
		}
	}
	if redelivered != pl.redelivered || callbacks != pl.callbacks {
		t.Errorf("kinds say %d re-deliveries, %d callbacks; plan counted %d, %d", redelivered, callbacks, pl.redelivered, pl.callbacks)
	}
	if len(chatKinds) != 2 || len(chats) < 50 || len(senders) < 100 {
		t.Errorf("chat kinds %v, %d chats, %d senders: want both kinds, many chats and many people", chatKinds, len(chats), len(senders))
	}
	// Every phrase of the mix appears (mentions make their texts vary, so count prefixes).
	for _, ph := range mix {
		want := strings.TrimSuffix(ph.text, "@_user_1")
		found := false
		for text := range texts {
			found = found || strings.Contains(text, want)
		}
		if !found {
			t.Errorf("no message says %q", ph.text)
		}
	}
}

// Over the long connection the plan is the same load, left as events for the fake
// to push: nothing signed, a re-delivery the very event pushed before, a click the
// card action ClickWS plays.
func TestBuildPlanForTheLongConnection(t *testing.T) {
	kinds := func(delivery string) []delivery {
		p := newPlatform(100, 0, delivery)
		defer p.Close()
		pl, err := buildPlan(context.Background(), p, 400, 0.05, 5)
		if err != nil {
			t.Fatal(err)
		}
		return pl.deliveries
	}
	hook, ws := kinds(config.DeliveryWebhook), kinds(config.DeliveryWebSocket)
	firsts := map[string]bool{} // event ids pushed first
	for i, d := range ws {
		if d.kind != hook[i].kind {
			t.Fatalf("delivery %d is a %v over the long connection, a %v by webhook: the same seed must give the same load", i, d.kind, hook[i].kind)
		}
		if d.body != nil || d.header != nil || d.path != "" {
			t.Fatalf("delivery %d was signed for a webhook", i)
		}
		switch d.kind {
		case firstDelivery:
			firsts[d.env.EventID()] = true
		case redelivery:
			if !firsts[d.env.EventID()] {
				t.Errorf("re-delivery %d repeats no earlier event", i)
			}
		case callback:
			if d.click.MessageID == "" || d.click.Value["a"] != "page" || d.env.EventID() != "" {
				t.Errorf("callback %d: click %+v, event %s; want a page click and no event", i, d.click, d.env.EventID())
			}
		}
	}
}

func TestBuildPlanSameSeedSameChoices(t *testing.T) {
	p := newPlatform(100, 0, config.DeliveryWebhook)
	defer p.Close()
	kinds := func(seed uint64) []deliveryKind {
		pl, err := buildPlan(context.Background(), p, 300, 0.05, seed)
		if err != nil {
			t.Fatal(err)
		}
		var out []deliveryKind
		for _, d := range pl.deliveries {
			out = append(out, d.kind)
		}
		return out
	}
	a, b, c := kinds(3), kinds(3), kinds(4)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave different plans")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave the same plan")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Rate: 10, Duration: time.Second, Users: 1, DupShare: 0.05, Conns: 1, Delivery: config.DeliveryWebhook}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"valid", func(*Config) {}, ""},
		{"zero rate", func(c *Config) { c.Rate = 0 }, "-rate"},
		{"less than one delivery", func(c *Config) { c.Duration = 50 * time.Millisecond }, "-duration"},
		{"no users", func(c *Config) { c.Users = 0 }, "-users"},
		{"all duplicates", func(c *Config) { c.DupShare = 0.95 }, "-dup"},
		{"no senders", func(c *Config) { c.Conns = 0 }, "-conns"},
		{"long connection", func(c *Config) { c.Delivery = config.DeliveryWebSocket }, ""},
		{"unknown delivery", func(c *Config) { c.Delivery = "http" }, "-delivery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			err := c.validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("validate() = %v, want %q", err, tt.want)
			}
		})
	}
}
