package feishufake

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
)

// A click delivers the callback and, like a Feishu client, shows the card the
// answer carries in place of the clicked one; a toast or a broken answer leaves it.
func TestClickAppliesTheAnswersCard(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		answer      string
		wantErr     bool
		wantUpdated bool
		wantToast   string
	}{
		{name: "new card", status: 200, answer: `{"card":{"type":"raw","data":` + card(9) + `}}`, wantUpdated: true},
		{name: "toast and card", status: 200, answer: `{"toast":{"type":"info","content":"ok"},"card":{"type":"raw","data":` + card(9) + `}}`, wantUpdated: true, wantToast: "ok"},
		{name: "toast only", status: 200, answer: `{"toast":{"type":"error","content":"no"}}`, wantToast: "no"},
		{name: "template card is not applied", status: 200, answer: `{"card":{"type":"template","data":{"template_id":"x"}}}`},
		{name: "null answer", status: 200, answer: `null`},
		{name: "not JSON", status: 200, answer: `<html>`},
		{name: "server error", status: 500, answer: `oops`, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newFake(t, nil)
			ev := s.MessageEvent(UserMessage{ChatID: "oc_group1", ChatType: "group", SenderOpenID: "ou_admin", Text: "/noface"})
			reply, err := newClient(s).Im.V1.Message.Reply(context.Background(), larkim.NewReplyMessageReqBuilder().MessageId(eventMessageID(t, ev)).
				Body(larkim.NewReplyMessageReqBodyBuilder().MsgType("interactive").Content(card(3)).Build()).Build())
			if err != nil || !reply.Success() {
				t.Fatalf("reply: %v %v", err, reply)
			}
			msgID := *reply.Data.MessageId
			var gotType string
			bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotType = r.Header.Get("Content-Type")
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.answer))
			}))
			defer bot.Close()

			res, err := s.Click(context.Background(), bot.URL, CardAction{OperatorOpenID: "ou_admin", MessageID: msgID, ChatID: "oc_group1", Value: map[string]any{"a": "page"}})
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if gotType != "application/json" || res.Event.Header.EventType != "card.action.trigger" || res.Status != c.status {
				t.Errorf("delivered %q as %q, answered %d", res.Event.Header.EventType, gotType, res.Status)
			}
			if res.Updated != c.wantUpdated {
				t.Errorf("Updated = %v, want %v", res.Updated, c.wantUpdated)
			}
			want := card(3)
			if c.wantUpdated {
				want = card(9)
			}
			if got := s.Messages()[0].Content; got != want {
				t.Errorf("message content %s, want %s", got, want)
			}
			if got := ""; res.Toast != nil {
				got = res.Toast.Content
				if got != c.wantToast {
					t.Errorf("toast %q, want %q", got, c.wantToast)
				}
			} else if c.wantToast != "" {
				t.Errorf("no toast, want %q", c.wantToast)
			}
		})
	}
}

// A direct message to a user lands in the chat P2PChatID names.
func TestP2PChatIDMatchesDirectMessages(t *testing.T) {
	s := newFake(t, nil)
	sent, err := newClient(s).Im.V1.Message.Create(context.Background(), larkim.NewCreateMessageReqBuilder().ReceiveIdType("open_id").
		Body(larkim.NewCreateMessageReqBodyBuilder().ReceiveId("ou_someone").MsgType("text").Content(textContent("hi")).Build()).Build())
	if err != nil || !sent.Success() {
		t.Fatalf("create: %v %v", err, sent)
	}
	if got, want := *sent.Data.ChatId, s.P2PChatID("ou_someone"); got != want {
		t.Errorf("direct message went to %s, P2PChatID says %s", got, want)
	}
	if s.P2PChatID("ou_someone") == s.P2PChatID("ou_other") {
		t.Error("two users share a direct chat")
	}
}
