package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"

	"acsbot/feishufake"
)

// The bot's webhook routes.
const (
	eventPath = "/webhook/event"
	cardPath  = "/webhook/card"
)

// deliveryKind says what a delivery is, for the counts.
type deliveryKind int

const (
	firstDelivery deliveryKind = iota // a chat message's first delivery
	redelivery                        // the same message event again, as Feishu retries it
	callback                          // a page-button click on a list card
)

// delivery is one event or card callback of the load.
type delivery struct {
	kind  deliveryKind
	env   feishufake.Envelope   // a chat message event; unset for a callback
	click feishufake.CardAction // a callback's click; unset otherwise
	// The webhook request, built, signed and encrypted before the load starts so
	// the generator's own crypto does not slow its sending. Unset for the long
	// connection, whose frames carry the event in plain JSON.
	path   string
	body   []byte
	header http.Header
}

// request builds the HTTP request for the delivery to the bot at base.
func (d delivery) request(ctx context.Context, base string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+d.path, bytes.NewReader(d.body))
	if err != nil {
		return nil, fmt.Errorf("build delivery: %w", err)
	}
	req.Header = d.header.Clone()
	return req, nil
}

// plan is the whole load, in sending order.
type plan struct {
	deliveries []delivery
	messageIDs []string // every distinct chat message sent: each must get one reply
	redelivered,
	callbacks int
}

// Shares of the deliveries that are not first deliveries of a chat message.
const (
	callbackShare = 0.05
	p2pShare      = 0.3 // of chat messages: an admin's direct chat; the rest are group messages
)

// phrase is a chat message the load sends; mention adds an @-mention of a directory
// user at @_user_1.
type phrase struct {
	text    string
	mention bool
	weight  int
}

// mix is what people ask, roughly as often as they ask it: slash commands, English
// and Chinese phrases, a look-up by mention, and text the bot does not understand.
var mix = []phrase{
	{"/noface", false, 14},
	{"/nocard", false, 10},
	{"/stats", false, 10},
	{"/user @_user_1", true, 8},
	{"help", false, 4},
	{"who has no face photo", false, 6},
	{"谁没有人脸", false, 10},
	{"没有门禁卡", false, 8},
	{"统计", false, 8},
	{"查询 @_user_1", true, 6},
	{"帮助", false, 3},
	{"what's for lunch?", false, 7},
	{"今天天气不错", false, 6},
}

// buildPlan makes n deliveries: a share dupShare of them re-deliver an earlier chat
// message event (same event id and message id, as a Feishu retry is), callbackShare
// are page-button clicks, and the rest are new chat messages. For the webhook each
// is signed and encrypted now, a re-delivery freshly. The same seed gives the same
// choices.
func buildPlan(ctx context.Context, p *platform, n int, dupShare float64, seed uint64) (plan, error) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var pl plan
	var sent []feishufake.Envelope // first deliveries, for re-delivery
	for range n {
		var d delivery
		switch x := r.Float64(); {
		case x < dupShare && len(sent) > 0:
			d = delivery{kind: redelivery, env: sent[r.IntN(len(sent))]}
			pl.redelivered++
		case x < dupShare+callbackShare:
			d = delivery{kind: callback, click: pageClick(r, p.pop)}
			pl.callbacks++
		default:
			m := chatMessage(r, p.pop, len(pl.messageIDs))
			d = delivery{kind: firstDelivery, env: p.fake.MessageEvent(m)}
			sent = append(sent, d.env)
			pl.messageIDs = append(pl.messageIDs, m.MessageID)
		}
		d, err := p.prepare(ctx, d)
		if err != nil {
			return plan{}, err
		}
		pl.deliveries = append(pl.deliveries, d)
	}
	return pl, nil
}

// sign encrypts and signs d as Feishu would post it to the bot's webhook.
func sign(ctx context.Context, fake *feishufake.Server, d delivery) (delivery, error) {
	d.path = eventPath
	env := d.env
	if d.kind == callback {
		d.path, env = cardPath, fake.CardActionEvent(d.click)
	}
	// The host is a stand-in: neither the signature nor the body depends on it.
	req, err := fake.NewRequest(ctx, "http://127.0.0.1"+d.path, env)
	if err != nil {
		return delivery{}, fmt.Errorf("sign event: %w", err)
	}
	d.body, err = io.ReadAll(req.Body)
	if err != nil {
		return delivery{}, fmt.Errorf("read signed event: %w", err)
	}
	d.header = req.Header
	return d, nil
}

// chatMessage is the seq-th new chat message: an admin in a direct chat, or anyone
// in a reader group, @-mentioning the bot as a group message must.
func chatMessage(r *rand.Rand, pop population, seq int) feishufake.UserMessage {
	ph := pick(r)
	m := feishufake.UserMessage{MessageID: fmt.Sprintf("om_%032x", seq+1), Text: ph.text}
	if r.Float64() < p2pShare {
		i := r.IntN(len(pop.admins))
		m.ChatType, m.ChatID, m.SenderOpenID = "p2p", fmt.Sprintf("oc_%032x", 0x7000+i), pop.admins[i]
	} else {
		m.ChatType, m.ChatID, m.SenderOpenID = "group", pop.groups[r.IntN(len(pop.groups))], pop.users[r.IntN(len(pop.users))].ID
		m.MentionBot = true
	}
	if ph.mention {
		u := pop.users[r.IntN(len(pop.users))]
		m.Mentions = []feishufake.Mention{{Key: "@_user_1", OpenID: u.ID, Name: "User " + u.ID[3:9]}}
	}
	return m
}

// pick chooses a phrase by weight.
func pick(r *rand.Rand) phrase {
	total := 0
	for _, ph := range mix {
		total += ph.weight
	}
	x := r.IntN(total)
	for _, ph := range mix {
		if x < ph.weight {
			return ph
		}
		x -= ph.weight
	}
	return mix[len(mix)-1] // unreachable: x < total
}

// pageClick is a reader in a reader group turning a page of a list card.
func pageClick(r *rand.Rand, pop population) feishufake.CardAction {
	list := "noface"
	if r.IntN(2) == 1 {
		list = "nocard"
	}
	return feishufake.CardAction{
		OperatorOpenID: pop.users[r.IntN(len(pop.users))].ID,
		MessageID:      fmt.Sprintf("om_%032x", 1<<40+r.IntN(1<<20)),
		ChatID:         pop.groups[r.IntN(len(pop.groups))],
		Value:          map[string]any{"a": "page", "q": list, "p": 1 + r.IntN(3)},
	}
}
