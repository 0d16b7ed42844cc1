package feishufake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Toast is the pop-up a card callback's answer asks the client to show.
type Toast struct {
	Type    string `json:"type"` // info | success | error | warning
	Content string `json:"content"`
}

// ClickResult is what a card button click came to.
type ClickResult struct {
	Event   Envelope // the callback as delivered
	Status  int
	Answer  []byte // the bot's answer, as received
	Toast   *Toast // nil when the answer shows none
	Updated bool   // the answer carried a card, which now replaces the message's
}

// callbackAnswer is the part of a card.action.trigger answer a client acts on.
type callbackAnswer struct {
	Toast *Toast `json:"toast"`
	Card  *struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	} `json:"card"`
}

// Click plays a Feishu client's button click: it delivers the card.action.trigger
// callback to url and, as Feishu does, replaces the clicked message's card with the
// card the answer carries ("raw" type), so Messages shows the card as users now see it.
// An answer that is not a JSON object leaves the message as it was.
//
// The card is locked from the click until the answer is applied (SetAnswerDelay
// after it comes): the bot's own updates of it meanwhile are refused, as Feishu
// refuses them with 230099 / 11310.
func (s *Server) Click(ctx context.Context, url string, a CardAction) (ClickResult, error) {
	defer s.lockCard(a.MessageID)()
	ev := s.CardActionEvent(a)
	status, body, err := s.Deliver(ctx, url, ev)
	res := ClickResult{Event: ev, Status: status, Answer: body}
	if err != nil {
		return res, err
	}
	if status != http.StatusOK {
		return res, fmt.Errorf("card callback answered HTTP %d", status)
	}
	s.applyAnswer(&res, a.MessageID)
	return res, nil
}

// applyAnswer does what a Feishu client does with a callback's answer: it shows the
// toast and puts a "raw" card in place of the clicked message's. An answer that is
// not a JSON object changes nothing.
func (s *Server) applyAnswer(res *ClickResult, messageID string) {
	s.waitAnswerDelay()
	var ans callbackAnswer
	if json.Unmarshal(res.Answer, &ans) != nil {
		return
	}
	res.Toast = ans.Toast
	if ans.Card != nil && ans.Card.Type == "raw" && len(ans.Card.Data) > 0 {
		res.Updated = s.replaceContent(messageID, string(ans.Card.Data))
	}
}

// replaceContent sets a sent message's content, reporting whether the message exists.
func (s *Server) replaceContent(messageID, content string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.msgIndex[messageID]
	if ok {
		s.messages[i].Content = content
	}
	return ok
}
