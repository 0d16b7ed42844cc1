package feishufake

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rules of the real platform the message APIs enforce besides the size and count
// limits (feishu-platform.md §4.9, §5.1, §5.3): a card is locked while a click on
// it is handled, cards may not name people the tenant's directory does not know,
// and one chat or one person gets at most 5 messages a second.
const (
	// sendsPerSecond is the documented limit of messages to one chat, shared by all
	// bots in it, and to one person: a person's messages are counted in their direct
	// chat with the bot, which is where Feishu delivers them.
	sendsPerSecond  = 5
	codeTooFrequent = 230020

	subCodeCardLocked    = 11310
	subCodeInvalidPerson = 100290
)

// cardLocked and unknownPeople are the texts the create message page documents for
// sub-codes 11310 and 100290, after "Failed to create card content, ext=".
var cardLocked = fmt.Sprintf("ErrCode: %d; ErrMsg: card action is lock; code:%d", subCodeCardLocked, codeCardBuildFailed)

func unknownPeople(ids []string) error {
	return fmt.Errorf("ErrCode: %d; ErrMsg: There is an invalid user resource(at/person) in your card; ErrorValue: %s",
		subCodeInvalidPerson, strings.Join(ids, ","))
}

// SetAnswerDelay is how long a client takes, after the bot answers a click, to show
// the answer's card. The card stays locked until then, so a test can make the
// window in which the bot's own updates are refused as wide as it needs.
func (s *Server) SetAnswerDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answerDelay = d
}

// lockCard locks a message's card for a click, as Feishu does from the click until
// its answer is applied; the func it returns unlocks it.
func (s *Server) lockCard(messageID string) (unlock func()) {
	s.mu.Lock()
	s.locked[messageID]++
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.locked[messageID]--; s.locked[messageID] <= 0 {
			delete(s.locked, messageID)
		}
	}
}

// waitAnswerDelay is the client's time to show an answer (SetAnswerDelay).
func (s *Server) waitAnswerDelay() {
	s.mu.Lock()
	d := s.answerDelay
	s.mu.Unlock()
	if d <= 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-s.done:
	}
}

func (s *Server) isLocked(messageID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locked[messageID] > 0
}

// RemoveFromDirectory makes the tenant's contact directory forget people (they left
// the company, or the id is of another kind or app) while the ACS list may still
// hold them. A card naming one in a person component, or in a person_list without
// drop_invalid_user_id, is then refused with 230099 / 100290.
func (s *Server) RemoveFromDirectory(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.notInDirectory[id] = true
	}
}

func (s *Server) inDirectory(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return id != "" && !s.notInDirectory[id]
}

// personIDs are the ids a person or person_list component names that Feishu must
// know: a person's user_id, a person_list's ids unless it drops invalid ones. Table
// persons cells and the <person> tag show "unknown user" instead.
func personIDs(component map[string]any) []string {
	switch component["tag"] {
	case "person":
		id, _ := component["user_id"].(string)
		return []string{id}
	case "person_list":
		if drop, _ := component["drop_invalid_user_id"].(bool); drop {
			return nil
		}
		persons, _ := component["persons"].([]any)
		ids := make([]string, 0, len(persons))
		for _, p := range persons {
			pm, _ := p.(map[string]any)
			id, _ := pm["id"].(string)
			ids = append(ids, id)
		}
		return ids
	}
	return nil
}

// overRate reports whether one more message to chatID now would be the sixth within
// a second. The window is measured in real time, not on the platform's clock: tests
// move that clock by days while their messages go out milliseconds apart. The
// caller holds s.mu.
func (s *Server) overRate(chatID string) bool {
	now := time.Now()
	sent := slices.DeleteFunc(s.sentAt[chatID], func(t time.Time) bool { return now.Sub(t) >= time.Second })
	if len(sent) >= sendsPerSecond {
		s.sentAt[chatID] = sent
		return true
	}
	s.sentAt[chatID] = append(sent, now)
	return false
}
