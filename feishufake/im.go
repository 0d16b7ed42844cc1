package feishufake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Message API limits and codes (feishu-platform.md §5).
const (
	maxTextContent  = 150 << 10
	maxCardContent  = 30 << 10
	maxCardElements = 200
	maxCardTables   = 5
	maxUUIDLen      = 50
	uuidWindow      = time.Hour
	patchWindow     = 14 * 24 * time.Hour

	codeMsgBadParam     = 230001
	codeMsgTooLong      = 230025
	codeMsgPatchExpired = 230031
	codeCardBuildFailed = 230099
	codeChatInvalid     = 232006
)

// SetChat adds or renames a group chat the bot can look up.
func (s *Server) SetChat(chatID, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chats[chatID] = name
}

func (s *Server) handleBotInfo(w *apiWriter, _ *http.Request, _ []byte) {
	// This API answers outside the usual data envelope.
	w.json(http.StatusOK, map[string]any{
		"code": 0, "msg": "ok",
		"bot": map[string]any{
			"activate_status": 2, "app_name": s.opts.BotName, "avatar_url": "",
			"ip_white_list": []string{}, "open_id": s.opts.BotOpenID,
		},
	})
}

func (s *Server) handleGetChat(w *apiWriter, r *http.Request, _ []byte) {
	id := r.PathValue("chat_id")
	s.mu.Lock()
	name, ok := s.chats[id]
	s.mu.Unlock()
	if !ok {
		w.fail(http.StatusBadRequest, codeChatInvalid, "Your request specifies a chat_id which is invalid.")
		return
	}
	w.ok(map[string]any{
		"avatar": "", "name": name, "description": "", "i18n_names": map[string]string{},
		"add_member_permission": "all_members", "share_card_permission": "allowed",
		"at_all_permission": "all_members", "edit_permission": "all_members",
		"owner_id_type": "open_id", "owner_id": "",
		"chat_mode": "group", "chat_type": "private", "chat_tag": "inner",
		"external": false, "tenant_key": s.opts.TenantKey,
		"user_count": "0", "bot_count": "1", "chat_status": "normal",
	})
}

// Message is one message the bot sent, as the fake recorded it.
type Message struct {
	ID, Kind                 string // Kind: "create" | "reply"
	ReceiveIDType, ReceiveID string // create only
	ParentID                 string // reply only: the message replied to
	ChatID                   string // the chat it went to, as the API reported it
	MsgType, Content, UUID   string // Content is the current content, after patches
	ReplyInThread            bool
	Patches                  int
	CreatedAt                time.Time
}

type uuidEntry struct {
	id string
	at time.Time
}

// Messages returns every message the bot sent, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// WaitMessages blocks until at least n messages were sent, or ctx ends; it returns
// the messages sent so far either way.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			out := slices.Clone(s.messages)
			s.mu.Unlock()
			return out, nil
		}
		arrived := s.msgArrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return s.Messages(), fmt.Errorf("wait for %d messages: %w", n, ctx.Err())
		}
	}
}

// MessageFault makes the message APIs (create, reply, patch) fail, e.g. HTTP 429 with
// code 99991400, or HTTP 400 with code 230002 (bot not in the chat).
type MessageFault struct {
	Code         int
	HTTPStatus   int    // 0 = 400
	ResetSeconds int    // x-ogw-ratelimit-reset when HTTPStatus is 429; 0 = 1
	ReceiveID    string // only calls for this receiver ("" = any): see msgTarget
	Times        int    // 0 = every matching call
}

// InjectMessageFault adds a fault to the message APIs. Faults are tried in the order
// injected, after the request is validated and before anything is recorded.
func (s *Server) InjectMessageFault(f MessageFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgFaults.add(f, f.Times)
}

// msgFault answers the call if a message fault matches one of the call's targets: the
// receive_id of a create, the parent message and its chat for a reply, the message,
// its receiver and its chat for a patch.
func (s *Server) msgFault(w *apiWriter, targets ...string) bool {
	s.mu.Lock()
	hit, ok := s.msgFaults.take(func(f MessageFault) bool { return f.ReceiveID == "" || slices.Contains(targets, f.ReceiveID) })
	s.mu.Unlock()
	if !ok {
		return false
	}
	status := hit.HTTPStatus
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status == http.StatusTooManyRequests {
		rateLimited(w, hit.ResetSeconds, hit.Code)
		return true
	}
	w.fail(status, hit.Code, messageFaultText(hit.Code))
	return true
}

func messageFaultText(code int) string {
	switch code {
	case codeRateLimited:
		return "request trigger frequency limit"
	case 230002:
		return "The bot can not be outside the group."
	case 230006:
		return "Bot ability is not activated."
	case 230013:
		return "Bot has NO availability to this user."
	case 230020:
		return "This operation triggers the frequency limit."
	case 232009:
		return "Your request specifies a chat which has already been dissolved."
	}
	return fmt.Sprintf("fake message fault %d", code)
}

// messageData is the message object the create and reply APIs return.
type messageData struct {
	MessageID  string        `json:"message_id"`
	RootID     string        `json:"root_id,omitempty"`
	ParentID   string        `json:"parent_id,omitempty"`
	MsgType    string        `json:"msg_type"`
	CreateTime string        `json:"create_time"`
	UpdateTime string        `json:"update_time"`
	Deleted    bool          `json:"deleted"`
	Updated    bool          `json:"updated"`
	ChatID     string        `json:"chat_id"`
	Sender     messageSender `json:"sender"`
	Body       struct {
		Content string `json:"content"`
	} `json:"body"`
}

type messageSender struct {
	ID         string `json:"id"`
	IDType     string `json:"id_type"`
	SenderType string `json:"sender_type"`
	TenantKey  string `json:"tenant_key"`
}

func (s *Server) messageData(m Message) messageData {
	d := messageData{
		MessageID: m.ID, MsgType: m.MsgType, ChatID: m.ChatID,
		CreateTime: msToString(m.CreatedAt), UpdateTime: msToString(m.CreatedAt), Updated: m.Patches > 0,
		Sender: messageSender{ID: s.opts.AppID, IDType: "app_id", SenderType: "app", TenantKey: s.opts.TenantKey},
	}
	if m.Kind == "reply" {
		d.RootID, d.ParentID = m.ParentID, m.ParentID
	}
	d.Body.Content = m.Content
	return d
}

type sendBody struct {
	ReceiveID     string `json:"receive_id"`
	MsgType       string `json:"msg_type"`
	Content       string `json:"content"`
	UUID          string `json:"uuid"`
	ReplyInThread bool   `json:"reply_in_thread"`
}

func (s *Server) handleCreateMessage(w *apiWriter, r *http.Request, body []byte) {
	idType := r.URL.Query().Get("receive_id_type")
	prefix, ok := map[string]string{"open_id": "ou_", "union_id": "on_", "chat_id": "oc_", "user_id": "", "email": ""}[idType]
	if !ok {
		w.fail(http.StatusBadRequest, codeBadField, "field validation failed",
			fieldViolation{Field: "receive_id_type", Value: idType, Description: "receive_id_type is required and must be one of open_id, union_id, user_id, email, chat_id"})
		return
	}
	var b sendBody
	if !decodeSendBody(w, body, &b, "receive_id", "msg_type", "content") {
		return
	}
	if !strings.HasPrefix(b.ReceiveID, prefix) || (idType == "email" && !strings.Contains(b.ReceiveID, "@")) {
		w.fail(http.StatusBadRequest, codeMsgBadParam, fmt.Sprintf("invalid receive_id %q for receive_id_type %s", b.ReceiveID, idType))
		return
	}
	if !s.checkContent(w, b.MsgType, b.Content) {
		return
	}
	chatID := b.ReceiveID
	if idType != "chat_id" { // a direct message goes to the bot's p2p chat with the user
		chatID = s.P2PChatID(b.ReceiveID)
	}
	if s.msgFault(w, b.ReceiveID) {
		return
	}
	m := Message{Kind: "create", ReceiveIDType: idType, ReceiveID: b.ReceiveID, ChatID: chatID,
		MsgType: b.MsgType, Content: b.Content, UUID: b.UUID}
	s.answerSent(w, m)
}

// P2PChatID is the chat id of the bot's direct chat with a user, as this fake reports
// it for a message sent to the user's id; a user's own messages there carry it too.
func (s *Server) P2PChatID(userID string) string {
	return "oc_" + hashHex("p2p:"+s.opts.BotOpenID+":"+userID, 32)
}

func (s *Server) handleReply(w *apiWriter, r *http.Request, body []byte) {
	parent := r.PathValue("message_id")
	var b sendBody
	if !decodeSendBody(w, body, &b, "msg_type", "content") {
		return
	}
	if !strings.HasPrefix(parent, "om_") {
		w.fail(http.StatusBadRequest, codeMsgBadParam, fmt.Sprintf("invalid message_id %q", parent))
		return
	}
	if !s.checkContent(w, b.MsgType, b.Content) {
		return
	}
	s.mu.Lock()
	chatID, ok := s.userMsgs[parent]
	if !ok {
		if i, sent := s.msgIndex[parent]; sent {
			chatID, ok = s.messages[i].ChatID, true
		}
	}
	s.mu.Unlock()
	if !ok { // a message this fake never saw: give it a stable chat of its own
		chatID = "oc_" + hashHex("chat-of:"+parent, 32)
	}
	if s.msgFault(w, parent, chatID) {
		return
	}
	m := Message{Kind: "reply", ParentID: parent, ChatID: chatID, MsgType: b.MsgType,
		Content: b.Content, UUID: b.UUID, ReplyInThread: b.ReplyInThread}
	s.answerSent(w, m)
}

func (s *Server) handlePatch(w *apiWriter, r *http.Request, body []byte) {
	id := r.PathValue("message_id")
	var b sendBody
	if !decodeSendBody(w, body, &b, "content") {
		return
	}
	s.mu.Lock()
	i, ok := s.msgIndex[id]
	var m Message
	if ok {
		m = s.messages[i]
	}
	s.mu.Unlock()
	switch {
	case !ok:
		w.fail(http.StatusBadRequest, codeMsgBadParam, fmt.Sprintf("invalid message_id %q: no message sent by this bot", id))
		return
	case m.MsgType != "interactive":
		w.fail(http.StatusBadRequest, codeMsgBadParam, "only interactive (card) messages can be patched, this one is "+m.MsgType)
		return
	case s.opts.Now().Sub(m.CreatedAt) > patchWindow:
		w.fail(http.StatusBadRequest, codeMsgPatchExpired, "The message was sent more than 14 days ago and can no longer be updated.")
		return
	}
	if !s.checkContent(w, "interactive", b.Content) {
		return
	}
	if s.isLocked(id) {
		w.fail(http.StatusBadRequest, codeCardBuildFailed, cardBuildFailed+cardLocked)
		return
	}
	if s.msgFault(w, id, m.ReceiveID, m.ChatID) {
		return
	}
	s.mu.Lock()
	s.messages[i].Content = b.Content
	s.messages[i].Patches++
	s.mu.Unlock()
	w.ok(struct{}{})
}

// answerSent records a sent message and answers with it, or refuses it as rate
// limited when its chat had its 5 messages this second.
func (s *Server) answerSent(w *apiWriter, m Message) {
	sent, ok := s.record(m)
	if !ok {
		w.fail(http.StatusBadRequest, codeTooFrequent, messageFaultText(codeTooFrequent))
		return
	}
	w.ok(s.messageData(sent))
}

// record stores a sent message, unless its uuid was used within the last hour: then,
// as Feishu does, the first message is returned and nothing new is sent. It reports
// false, storing nothing, when the message's chat is over its rate.
func (s *Server) record(m Message) (Message, bool) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.UUID != "" {
		if e, ok := s.uuids[m.UUID]; ok && now.Sub(e.at) < uuidWindow {
			return s.messages[s.msgIndex[e.id]], true
		}
	}
	if s.overRate(m.ChatID) {
		return Message{}, false
	}
	m.ID = "om_" + randomHex(32)
	m.CreatedAt = now
	s.msgIndex[m.ID] = len(s.messages)
	s.messages = append(s.messages, m)
	if m.UUID != "" {
		s.uuids[m.UUID] = uuidEntry{id: m.ID, at: now}
	}
	close(s.msgArrived)
	s.msgArrived = make(chan struct{})
	return m, true
}

// decodeSendBody parses a message API body and checks its required fields and uuid.
func decodeSendBody(w *apiWriter, body []byte, b *sendBody, required ...string) bool {
	if err := json.Unmarshal(body, b); err != nil {
		w.fail(http.StatusBadRequest, codeBadField, "field validation failed",
			fieldViolation{Field: "body", Description: "request body is not valid JSON: " + err.Error()})
		return false
	}
	values := map[string]string{"receive_id": b.ReceiveID, "msg_type": b.MsgType, "content": b.Content}
	for _, f := range required {
		if values[f] == "" {
			w.fail(http.StatusBadRequest, codeBadField, "field validation failed",
				fieldViolation{Field: f, Description: f + " is required"})
			return false
		}
	}
	if len(b.UUID) > maxUUIDLen {
		w.fail(http.StatusBadRequest, codeBadField, "field validation failed",
			fieldViolation{Field: "uuid", Value: b.UUID, Description: "uuid must be at most 50 characters"})
		return false
	}
	return true
}

// checkContent validates content as the platform does for its msg_type.
func (s *Server) checkContent(w *apiWriter, msgType, content string) bool {
	limit := maxCardContent
	switch msgType {
	case "text":
		limit = maxTextContent
	case "interactive", "post":
	case "image", "file", "audio", "media", "sticker", "share_chat", "share_user", "system":
	default:
		w.fail(http.StatusBadRequest, codeMsgBadParam, fmt.Sprintf("invalid msg_type %q", msgType))
		return false
	}
	if len(content) > limit {
		w.fail(http.StatusBadRequest, codeMsgTooLong, fmt.Sprintf("The content of the message is too long: %d bytes, the limit for %s is %d.", len(content), msgType, limit))
		return false
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(content), &v); err != nil {
		w.fail(http.StatusBadRequest, codeMsgBadParam, "invalid message content: content must be a JSON object serialized to a string: "+err.Error())
		return false
	}
	switch msgType {
	case "text":
		if _, ok := v["text"].(string); !ok {
			w.fail(http.StatusBadRequest, codeMsgBadParam, `invalid message content: a text message needs {"text": "..."}`)
			return false
		}
	case "interactive":
		if err := checkCard(v, s.inDirectory); err != nil {
			w.fail(http.StatusBadRequest, codeCardBuildFailed, cardBuildFailed+err.Error())
			return false
		}
	}
	return true
}

// cardBuildFailed starts the message of every 230099 refusal.
const cardBuildFailed = "Failed to create card content, ext="

// checkCard applies the documented card JSON 2.0 limits (feishu-platform.md §4.1,
// §4.4). Every JSON object with a "tag" counts toward the 200, plain_text included,
// as the card docs count "elements (such as plain_text) or components". The people
// the card's person components name must be known to the tenant's directory.
func checkCard(card map[string]any, known func(id string) bool) error {
	if card["type"] == "template" {
		return nil
	}
	if card["schema"] != "2.0" {
		return nil // card JSON 1.0: none of the 2.0 limits apply
	}
	if body, ok := card["body"]; ok {
		if _, isObj := body.(map[string]any); !isObj {
			return fmt.Errorf("card body must be an object")
		}
	}
	if cfg, ok := card["config"].(map[string]any); ok && cfg["update_multi"] == false {
		return fmt.Errorf("card JSON 2.0 supports only shared cards: config.update_multi must be true")
	}
	var elements, tables int
	var gone string
	var unknown []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if tag, ok := x["tag"].(string); ok {
				elements++
				switch tag {
				case "table":
					tables++
				case "action", "note":
					gone = tag
				}
				for _, id := range personIDs(x) {
					if !known(id) {
						unknown = append(unknown, id)
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(card)
	switch {
	case gone != "":
		return fmt.Errorf("the %q component does not exist in card JSON 2.0", gone)
	case elements > maxCardElements:
		return fmt.Errorf("card has %d elements and components, more than %d", elements, maxCardElements)
	case tables > maxCardTables:
		return fmt.Errorf("card has %d tables, more than %d", tables, maxCardTables)
	case len(unknown) > 0:
		return unknownPeople(unknown)
	}
	return nil
}
