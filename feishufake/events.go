package feishufake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"

	"acsbot/acs"
)

// Envelope is an event as Feishu pushes it, schema 2.0. Fields are exported so a
// test can tamper with one (a wrong token, a stale create_time) before delivery.
type Envelope struct {
	Schema string      `json:"schema"`
	Header EventHeader `json:"header"`
	Event  any         `json:"event"`
}

// EventHeader is the schema 2.0 event header.
type EventHeader struct {
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	CreateTime string `json:"create_time"` // milliseconds, as a string
	Token      string `json:"token"`       // the verification token
	AppID      string `json:"app_id"`
	TenantKey  string `json:"tenant_key"`
}

// EventID is the id Feishu keeps when it re-delivers the event.
func (e Envelope) EventID() string { return e.Header.EventID }

// Event wraps an event body in a header filled from the options, with a fresh event id.
func (s *Server) Event(eventType string, event any) Envelope {
	return Envelope{
		Schema: "2.0",
		Header: EventHeader{
			EventID: randomHex(32), EventType: eventType, CreateTime: msToString(s.opts.Now()),
			Token: s.opts.VerificationToken, AppID: s.opts.AppID, TenantKey: s.opts.TenantKey,
		},
		Event: event,
	}
}

// Mention is someone @-mentioned in a user's message.
type Mention struct {
	Key    string // the placeholder in the text, "@_user_N"
	OpenID string
	Name   string
}

// UserMessage is a text message a user sends where the bot can read it.
type UserMessage struct {
	MessageID    string // default: a fresh "om_" + 32 hex
	ChatID       string
	ChatType     string // "p2p" | "group"
	SenderOpenID string
	Text         string // may contain @_user_N placeholders for Mentions
	Mentions     []Mention
	// MentionBot prepends a placeholder for the bot, with the first key the other
	// mentions leave free, and adds the bot's mention, as a group member's "@Bot ..." is.
	MentionBot bool
}

type userID struct {
	OpenID  string `json:"open_id"`
	UnionID string `json:"union_id"`
	UserID  string `json:"user_id,omitempty"` // only with the employee id scope
}

// idsOf fills the ids Feishu sends beside an open id; the union id is derived so the
// same person always has the same one.
func idsOf(openID string) userID {
	return userID{OpenID: openID, UnionID: "on_" + hashHex("union:"+openID, 32)}
}

type eventMention struct {
	Key           string `json:"key"`
	ID            userID `json:"id"`
	Name          string `json:"name"`
	TenantKey     string `json:"tenant_key"`
	MentionedType string `json:"mentioned_type"` // "user" | "bot"
}

// MessageEvent builds the im.message.receive_v1 event for a user's text message, and
// remembers the message's chat so a reply to it reports that chat.
func (s *Server) MessageEvent(m UserMessage) Envelope {
	if m.MessageID == "" {
		m.MessageID = "om_" + randomHex(32)
	}
	text := m.Text
	var mentions []eventMention
	for _, mn := range m.Mentions {
		mentions = append(mentions, eventMention{Key: mn.Key, ID: idsOf(mn.OpenID), Name: mn.Name, TenantKey: s.opts.TenantKey, MentionedType: "user"})
	}
	if m.MentionBot {
		key := freeMentionKey(m.Mentions)
		text = key + " " + text
		mentions = append(mentions, eventMention{Key: key, ID: idsOf(s.opts.BotOpenID), Name: s.opts.BotName, TenantKey: s.opts.TenantKey, MentionedType: "bot"})
		slices.SortStableFunc(mentions, func(a, b eventMention) int { return mentionNumber(a.Key) - mentionNumber(b.Key) })
	}
	content, _ := marshal(map[string]string{"text": text}) // a map of strings always marshals
	now := msToString(s.opts.Now())
	s.mu.Lock()
	s.userMsgs[m.MessageID] = m.ChatID
	s.mu.Unlock()
	msg := map[string]any{
		"message_id": m.MessageID, "create_time": now, "update_time": now,
		"chat_id": m.ChatID, "chat_type": m.ChatType, "message_type": "text",
		"content": string(content),
	}
	if len(mentions) > 0 { // Feishu leaves the field out when nobody is mentioned
		msg["mentions"] = mentions
	}
	return s.Event("im.message.receive_v1", map[string]any{
		"sender": map[string]any{
			"sender_id": idsOf(m.SenderOpenID), "sender_type": "user", "tenant_key": s.opts.TenantKey,
		},
		"message": msg,
	})
}

// freeMentionKey is the first "@_user_N" the given mentions do not use.
func freeMentionKey(ms []Mention) string {
	for n := 1; ; n++ {
		key := "@_user_" + strconv.Itoa(n)
		if !slices.ContainsFunc(ms, func(m Mention) bool { return m.Key == key }) {
			return key
		}
	}
}

// mentionNumber is N of "@_user_N"; keys of another shape sort last.
func mentionNumber(key string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(key, "@_user_"))
	if err != nil {
		return 1 << 30
	}
	return n
}

// UserUpdatedEvent builds acs.user.updated_v1 for a user whose card or face changed.
// Like the list API, it leaves out a card the user does not have.
func (s *Server) UserUpdatedEvent(u acs.User) Envelope {
	ev := map[string]any{"user_id": idsOf(u.ID), "face_uploaded": u.FaceUploaded}
	if u.Card != 0 {
		ev["card"] = u.Card
	}
	return s.Event("acs.user.updated_v1", ev)
}

// CardAction is a click on a card button.
type CardAction struct {
	OperatorOpenID, MessageID, ChatID string
	Value                             map[string]any // the button's behaviors[].value
}

// CardActionEvent builds the card.action.trigger callback for a button click, with a
// fresh "c-" update token.
func (s *Server) CardActionEvent(a CardAction) Envelope {
	ids := idsOf(a.OperatorOpenID)
	return s.Event("card.action.trigger", map[string]any{
		"operator": map[string]any{"tenant_key": s.opts.TenantKey, "open_id": ids.OpenID, "union_id": ids.UnionID},
		"token":    "c-" + randomHex(40),
		"action":   map[string]any{"tag": "button", "value": a.Value, "timezone": "Asia/Shanghai"},
		"host":     "im_message",
		"context":  map[string]any{"open_message_id": a.MessageID, "open_chat_id": a.ChatID},
	})
}

// URLVerification is the challenge Feishu posts when the request URL is saved. It is
// a map so a test can change the token.
func (s *Server) URLVerification(challenge string) map[string]any {
	return map[string]any{"challenge": challenge, "token": s.opts.VerificationToken, "type": "url_verification"}
}

// RequestOption changes how NewRequest builds a delivery.
type RequestOption func(*requestOptions)

type requestOptions struct {
	at           time.Time
	badSignature bool
	plain        bool
	header       http.Header
}

// AtTime signs the request with timestamp t instead of now, to test replay windows.
func AtTime(t time.Time) RequestOption { return func(o *requestOptions) { o.at = t } }

// BadSignature sends a signature that does not match the body.
func BadSignature() RequestOption { return func(o *requestOptions) { o.badSignature = true } }

// Plain sends the payload unencrypted and unsigned even when an encrypt key is set,
// as a forger without the key would.
func Plain() RequestOption { return func(o *requestOptions) { o.plain = true } }

// WithHeader sets an extra request header (after the others, so it can replace one).
func WithHeader(k, v string) RequestOption {
	return func(o *requestOptions) { o.header.Set(k, v) }
}

// NewRequest builds the POST Feishu would send to url with payload (an Envelope, a
// URLVerification map, or any JSON value). With an encrypt key the JSON is encrypted
// into {"encrypt": ...} and signed; url_verification is encrypted but not signed,
// as Feishu does (sdk-notes.md §4).
func (s *Server) NewRequest(ctx context.Context, url string, payload any, opts ...RequestOption) (*http.Request, error) {
	o := requestOptions{at: s.opts.Now(), header: http.Header{}}
	for _, opt := range opts {
		opt(&o)
	}
	plain, err := marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("marshal event payload: %w", err)
	}
	body := plain
	encrypted := s.opts.EncryptKey != "" && !o.plain
	if encrypted {
		enc, err := larkcore.EncryptedEventMsg(ctx, plain, s.opts.EncryptKey)
		if err != nil {
			return nil, fmt.Errorf("encrypt event payload: %w", err)
		}
		if body, err = marshal(map[string]string{"encrypt": enc}); err != nil {
			return nil, fmt.Errorf("marshal encrypted payload: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build event request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if (encrypted && !isURLVerification(plain)) || o.badSignature {
		ts := strconv.FormatInt(o.at.Unix(), 10)
		nonce := randomHex(16)
		key := s.opts.EncryptKey
		if o.badSignature {
			key += "-not-the-key"
		}
		req.Header.Set(larkevent.EventRequestTimestamp, ts)
		req.Header.Set(larkevent.EventRequestNonce, nonce)
		req.Header.Set(larkevent.EventSignature, larkevent.Signature(ts, nonce, key, string(body)))
	}
	for k, vs := range o.header {
		req.Header[k] = vs
	}
	return req, nil
}

func isURLVerification(plain []byte) bool {
	var v struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(plain, &v) == nil && v.Type == "url_verification"
}

// maxDeliveryAnswer bounds what Deliver reads back; a webhook answer is a few bytes
// of JSON, or a callback's card.
const maxDeliveryAnswer = 1 << 20

// Deliver posts payload to url as NewRequest builds it and returns the answer.
func (s *Server) Deliver(ctx context.Context, url string, payload any, opts ...RequestOption) (status int, body []byte, err error) {
	req, err := s.NewRequest(ctx, url, payload, opts...)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("deliver event to %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxDeliveryAnswer))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("read answer from %s: %w", url, err)
	}
	return resp.StatusCode, body, nil
}
