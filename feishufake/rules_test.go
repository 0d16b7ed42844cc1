package feishufake

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	lark "github.com/larksuite/oapi-sdk-go/v3"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
)

func sendCard(t *testing.T, cli *lark.Client, idType, to, content string) (*larkim.CreateMessageResp, error) {
	t.Helper()
	return cli.Im.V1.Message.Create(context.Background(), larkim.NewCreateMessageReqBuilder().ReceiveIdType(idType).
		Body(larkim.NewCreateMessageReqBodyBuilder().ReceiveId(to).MsgType("interactive").Content(content).Build()).Build())
}

func patchCard(cli *lark.Client, id, content string) (*larkim.PatchMessageResp, error) {
	return cli.Im.V1.Message.Patch(context.Background(), larkim.NewPatchMessageReqBuilder().MessageId(id).
		Body(larkim.NewPatchMessageReqBodyBuilder().Content(content).Build()).Build())
}

// While a click on a card is handled, until its answer shows, an update of the card
// is refused with 230099 / 11310; after it, updates go through again.
func TestCardLockedWhileAClickIsHandled(t *testing.T) {
	s := newFake(t, nil)
	cli := newClient(s)
	sent, err := sendCard(t, cli, "chat_id", "oc_group1", card(1))
	if err != nil || !sent.Success() {
		t.Fatalf("send: %v %v", err, sent)
	}
	id := *sent.Data.MessageId
	s.SetAnswerDelay(200 * time.Millisecond)
	var during *larkim.PatchMessageResp
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		during, _ = patchCard(cli, id, card(2)) // the bot's own update while the click is in flight
		_, _ = w.Write([]byte(`{"card":{"type":"raw","data":` + card(3) + `}}`))
	}))
	defer bot.Close()
	if _, err := s.Click(context.Background(), bot.URL, CardAction{OperatorOpenID: "ou_a", MessageID: id, ChatID: "oc_group1", Value: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	if during == nil || during.Code != codeCardBuildFailed || !strings.Contains(during.Msg, "ErrCode: 11310; ErrMsg: card action is lock") {
		t.Fatalf("update during the click: %+v, want 230099 card action is lock", during)
	}
	if got := s.Messages()[0].Content; got != card(3) {
		t.Fatalf("card after the click is %s, want the answer's", got)
	}
	after, err := patchCard(cli, id, card(4))
	if err != nil || !after.Success() {
		t.Fatalf("update after the click: %v %+v", err, after)
	}
}

// A person component naming someone the directory does not know, or a person_list
// that does not drop such ids, fails the whole message with 230099 / 100290.
func TestUnknownPeopleRefuseTheCard(t *testing.T) {
	const gone, here = "ou_gone", "ou_here"
	withElements := func(els ...map[string]any) string {
		b, _ := json.Marshal(map[string]any{"schema": "2.0", "body": map[string]any{"elements": els}})
		return string(b)
	}
	cases := []struct {
		name    string
		content string
		refused bool
	}{
		{"person known", withElements(map[string]any{"tag": "person", "user_id": here}), false},
		{"person unknown", withElements(map[string]any{"tag": "person", "user_id": gone}), true},
		{"person_list unknown", withElements(map[string]any{"tag": "person_list", "persons": []any{map[string]any{"id": here}, map[string]any{"id": gone}}}), true},
		{"person_list dropping unknown", withElements(map[string]any{"tag": "person_list", "drop_invalid_user_id": true, "persons": []any{map[string]any{"id": gone}}}), false},
		{"table persons cell", withElements(map[string]any{"tag": "table", "columns": []any{map[string]any{"name": "p", "data_type": "persons"}}, "rows": []any{map[string]any{"p": gone}}}), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newFake(t, nil)
			s.RemoveFromDirectory(gone)
			resp, err := sendCard(t, newClient(s), "chat_id", "oc_group1", c.content)
			if err != nil {
				t.Fatal(err)
			}
			if !c.refused {
				if !resp.Success() {
					t.Fatalf("refused: %d %s", resp.Code, resp.Msg)
				}
				return
			}
			if resp.Code != codeCardBuildFailed || !strings.Contains(resp.Msg, "ErrCode: 100290") || !strings.Contains(resp.Msg, gone) {
				t.Fatalf("answer %d %q, want 230099 / 100290 naming %s", resp.Code, resp.Msg, gone)
			}
			if len(s.Messages()) != 0 {
				t.Fatal("a refused card was recorded")
			}
		})
	}
}

// One chat, and one person, get at most 5 messages a second; the sixth is refused
// with 230020 and nothing is recorded; other chats are not affected, and a resend
// of a message already sent (same uuid) is not a new message.
func TestFiveMessagesASecondPerChat(t *testing.T) {
	s := newFake(t, nil)
	cli := newClient(s)
	for _, to := range []struct{ idType, id string }{{"chat_id", "oc_busy"}, {"open_id", "ou_busy"}} {
		for i := range 6 {
			resp, err := sendCard(t, cli, to.idType, to.id, card(1))
			if err != nil {
				t.Fatal(err)
			}
			if i < 5 && !resp.Success() {
				t.Fatalf("%s message %d refused: %d %s", to.id, i+1, resp.Code, resp.Msg)
			}
			if i == 5 && resp.Code != codeTooFrequent {
				t.Fatalf("%s message 6 in a second: code %d, want %d", to.id, resp.Code, codeTooFrequent)
			}
		}
	}
	if resp, err := sendCard(t, cli, "chat_id", "oc_quiet", card(1)); err != nil || !resp.Success() {
		t.Fatalf("another chat: %v %+v", err, resp)
	}
	if n := len(s.Messages()); n != 11 {
		t.Fatalf("%d messages recorded, want 11", n)
	}
	time.Sleep(time.Second)
	if resp, err := sendCard(t, cli, "chat_id", "oc_busy", card(1)); err != nil || !resp.Success() {
		t.Fatalf("a second later: %v %+v", err, resp)
	}
}
