package feishufake

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"
	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"acsbot/acs"
)

// decryptPKCS7 is the platform's scheme done strictly (feishu-platform.md §1.3):
// base64, IV = first 16 bytes, AES-256-CBC with sha256(key), real PKCS#7 unpadding.
func decryptPKCS7(encrypted, key string) ([]byte, error) {
	buf, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, err
	}
	if len(buf) < 2*aes.BlockSize || len(buf)%aes.BlockSize != 0 {
		return nil, errors.New("bad ciphertext length")
	}
	k := sha256.Sum256([]byte(key))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(buf)-aes.BlockSize)
	cipher.NewCBCDecrypter(block, buf[:aes.BlockSize]).CryptBlocks(out, buf[aes.BlockSize:])
	pad := int(out[len(out)-1])
	if pad < 1 || pad > aes.BlockSize || !bytes.Equal(out[len(out)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errors.New("bad PKCS#7 padding")
	}
	return out[:len(out)-pad], nil
}

// The fake's encryption is the platform's: the official vector decrypts with the strict
// PKCS#7 scheme, and so does every body the fake encrypts, to the very JSON it sent.
func TestEncryptionMatchesPlatform(t *testing.T) {
	t.Run("official vector", func(t *testing.T) {
		got, err := decryptPKCS7("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=", "test key")
		if err != nil || string(got) != "hello world" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	s := newFake(t, func(o *Options) { o.EncryptKey = "test key" })
	payloads := []struct {
		name    string
		payload any
	}{
		{"url verification", s.URLVerification("ajls384kdjx98XX")},
		{"message event", s.MessageEvent(UserMessage{ChatID: "oc_1", ChatType: "p2p", SenderOpenID: "ou_1", Text: "谁没有人脸 <b>&"})},
		{"block-aligned JSON", json.RawMessage(`{"a":"` + strings.Repeat("x", 24) + `"}`)}, // 32 bytes: a full pad block
	}
	for _, p := range payloads {
		t.Run(p.name, func(t *testing.T) {
			req, err := s.NewRequest(context.Background(), "http://127.0.0.1:1/webhook", p.payload)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(req.Body)
			var env struct{ Encrypt string }
			if err := json.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
				t.Fatalf("body %s is not {\"encrypt\":...}", body)
			}
			want, _ := marshal(p.payload)
			strict, err := decryptPKCS7(env.Encrypt, "test key")
			if err != nil || !bytes.Equal(strict, want) {
				t.Fatalf("strict decrypt: %v\n got %s\nwant %s", err, strict, want)
			}
			sdk, err := larkevent.EventDecrypt(env.Encrypt, "test key")
			if err != nil || !bytes.Equal(sdk, want) {
				t.Fatalf("SDK decrypt: %v %s", err, sdk)
			}
		})
	}
}

// The signature of the fake is the one of feishu-platform.md §1.4 over the exact body,
// and url_verification goes unsigned.
func TestSignatureHeaders(t *testing.T) {
	s := newFake(t, nil)
	at := time.Unix(1700000000, 0)
	cases := []struct {
		name       string
		payload    any
		opts       []RequestOption
		wantSigned bool
		wantValid  bool
		wantPlain  bool
	}{
		{"event", s.Event("x.y", map[string]any{}), []RequestOption{AtTime(at)}, true, true, false},
		{"url verification", s.URLVerification("c"), nil, false, false, false},
		{"bad signature", s.Event("x.y", map[string]any{}), []RequestOption{BadSignature()}, true, false, false},
		{"plain", s.Event("x.y", map[string]any{}), []RequestOption{Plain()}, false, false, true},
		{"extra header", s.Event("x.y", map[string]any{}), []RequestOption{WithHeader("X-Request-Id", "r1")}, true, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := s.NewRequest(context.Background(), "http://127.0.0.1:1/webhook", c.payload, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(req.Body)
			ts, nonce, sig := req.Header.Get(larkevent.EventRequestTimestamp), req.Header.Get(larkevent.EventRequestNonce), req.Header.Get(larkevent.EventSignature)
			if (sig != "") != c.wantSigned {
				t.Fatalf("signature %q, want signed=%v", sig, c.wantSigned)
			}
			if c.wantSigned && (larkevent.Signature(ts, nonce, testEncrypt, string(body)) == sig) != c.wantValid {
				t.Errorf("signature valid=%v, want %v", !c.wantValid, c.wantValid)
			}
			if c.name == "event" && ts != "1700000000" {
				t.Errorf("timestamp %q, want AtTime's", ts)
			}
			if c.name == "extra header" && req.Header.Get("X-Request-Id") != "r1" {
				t.Error("WithHeader lost")
			}
			if plain := !strings.HasPrefix(string(body), `{"encrypt":`); plain != c.wantPlain {
				t.Errorf("body %s, want plain=%v", body, c.wantPlain)
			}
			if req.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", req.Header.Get("Content-Type"))
			}
		})
	}
}

// webhook serves the real SDK dispatcher as a bot would, and remembers what its
// handlers saw.
type webhook struct {
	mu      sync.Mutex
	message *larkim.P2MessageReceiveV1
	user    *larkacs.P2UserUpdatedV1
	action  *callback.CardActionTriggerEvent
}

func newWebhook(t *testing.T, verificationToken, encryptKey string) (*webhook, string) {
	wh := &webhook{}
	d := dispatcher.NewEventDispatcher(verificationToken, encryptKey).
		OnP2MessageReceiveV1(func(_ context.Context, ev *larkim.P2MessageReceiveV1) error {
			wh.mu.Lock()
			defer wh.mu.Unlock()
			wh.message = ev
			return nil
		}).
		OnP2UserUpdatedV1(func(_ context.Context, ev *larkacs.P2UserUpdatedV1) error {
			wh.mu.Lock()
			defer wh.mu.Unlock()
			wh.user = ev
			return nil
		}).
		OnP2CardActionTrigger(func(_ context.Context, ev *callback.CardActionTriggerEvent) (*callback.CardActionTriggerResponse, error) {
			wh.mu.Lock()
			defer wh.mu.Unlock()
			wh.action = ev
			return &callback.CardActionTriggerResponse{Toast: &callback.Toast{Type: "info", Content: "ok"}}, nil
		})
	d.InitConfig(larkevent.WithLogLevel(larkcore.LogLevelError)) // before serving: no body dumps
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp := d.Handle(r.Context(), &larkevent.EventReq{Header: r.Header, Body: body, RequestURI: r.RequestURI})
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(resp.Body)
	}))
	t.Cleanup(srv.Close)
	return wh, srv.URL
}

func TestDispatcherAcceptsFakeEvents(t *testing.T) {
	for _, key := range []string{testEncrypt, ""} {
		name := map[bool]string{true: "encrypted and signed", false: "plain"}[key != ""]
		t.Run(name, func(t *testing.T) {
			s := newFake(t, func(o *Options) { o.EncryptKey = key })
			wh, url := newWebhook(t, testVerify, key)
			ctx := context.Background()

			status, body, err := s.Deliver(ctx, url, s.URLVerification("chal-1"))
			if err != nil || status != 200 || !strings.Contains(string(body), `"chal-1"`) {
				t.Fatalf("url verification: %d %s %v", status, body, err)
			}

			ev := s.MessageEvent(UserMessage{
				ChatID: "oc_g", ChatType: "group", SenderOpenID: "ou_admin",
				Text: "/user @_user_1", Mentions: []Mention{{Key: "@_user_1", OpenID: "ou_alice", Name: "Alice"}}, MentionBot: true,
			})
			if status, body, err := s.Deliver(ctx, url, ev); err != nil || status != 200 {
				t.Fatalf("message event: %d %s %v", status, body, err)
			}
			wh.mu.Lock()
			msg := wh.message
			wh.mu.Unlock()
			if msg == nil {
				t.Fatal("handler did not run")
			}
			var content struct{ Text string }
			if err := json.Unmarshal([]byte(larkcore.StringValue(msg.Event.Message.Content)), &content); err != nil {
				t.Fatal(err)
			}
			if content.Text != "@_user_2 /user @_user_1" {
				t.Errorf("text %q: want the bot's placeholder on the first free key", content.Text)
			}
			ms := msg.Event.Message.Mentions
			if len(ms) != 2 || *ms[0].Key != "@_user_1" || *ms[0].Id.OpenId != "ou_alice" || *ms[1].Key != "@_user_2" || *ms[1].Id.OpenId != s.Options().BotOpenID {
				t.Errorf("mentions %s", mustJSON(ms))
			}
			h := msg.EventV2Base.Header
			if h.EventID != ev.EventID() || h.Token != testVerify || h.AppID != testAppID || h.EventType != "im.message.receive_v1" || h.TenantKey != "tenant_fake" {
				t.Errorf("header %+v", h)
			}
			if *msg.Event.Sender.SenderId.OpenId != "ou_admin" || *msg.Event.Message.ChatType != "group" || *msg.Event.Message.MessageType != "text" {
				t.Errorf("event %s", mustJSON(msg.Event))
			}

			u := acs.User{ID: "ou_bob", Card: 0, FaceUploaded: true}
			if status, _, err := s.Deliver(ctx, url, s.UserUpdatedEvent(u)); err != nil || status != 200 {
				t.Fatalf("user updated: %d %v", status, err)
			}
			wh.mu.Lock()
			user := wh.user
			wh.mu.Unlock()
			if user == nil || *user.Event.UserId.OpenId != "ou_bob" || user.Event.Card != nil || !*user.Event.FaceUploaded {
				t.Errorf("user updated event %s", mustJSON(user))
			}

			a := CardAction{OperatorOpenID: "ou_admin", MessageID: "om_card", ChatID: "oc_g", Value: map[string]any{"cmd": "noface", "page": 2}}
			status, body, err = s.Deliver(ctx, url, s.CardActionEvent(a))
			if err != nil || status != 200 || !strings.Contains(string(body), `"toast"`) {
				t.Fatalf("card action: %d %s %v", status, body, err)
			}
			wh.mu.Lock()
			act := wh.action
			wh.mu.Unlock()
			if act == nil || act.Event.Operator.OpenID != "ou_admin" || act.Event.Context.OpenMessageID != "om_card" ||
				act.Event.Context.OpenChatID != "oc_g" || act.Event.Action.Tag != "button" || act.Event.Action.Value["cmd"] != "noface" ||
				act.Event.Host != "im_message" || !strings.HasPrefix(act.Event.Token, "c-") {
				t.Errorf("card action event %s", mustJSON(act))
			}
		})
	}
}

// What a forger without the key sends is refused by the SDK dispatcher.
func TestDispatcherRefusesForgeries(t *testing.T) {
	s := newFake(t, nil)
	wh, url := newWebhook(t, testVerify, testEncrypt)
	cases := []struct {
		name string
		opts []RequestOption
	}{
		{"bad signature", []RequestOption{BadSignature()}},
		{"unencrypted", []RequestOption{Plain()}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, err := s.Deliver(context.Background(), url, s.MessageEvent(UserMessage{ChatID: "oc_1", ChatType: "p2p", SenderOpenID: "ou_1", Text: "/stats"}), c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if status == 200 {
				t.Fatalf("accepted: %s", body)
			}
		})
	}
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if wh.message != nil {
		t.Error("a handler ran for a forged event")
	}
}

func TestMentionKeys(t *testing.T) {
	cases := []struct {
		name     string
		mentions []Mention
		want     string
	}{
		{"none", nil, "@_user_1"},
		{"first taken", []Mention{{Key: "@_user_1"}}, "@_user_2"},
		{"gap", []Mention{{Key: "@_user_2"}, {Key: "@_user_1"}, {Key: "@_user_4"}}, "@_user_3"},
		{"only a later key", []Mention{{Key: "@_user_2"}}, "@_user_1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := freeMentionKey(c.mentions); got != c.want {
				t.Fatalf("got %s want %s", got, c.want)
			}
		})
	}
}

func TestEnvelopeJSON(t *testing.T) {
	clock := newClock()
	s := newFake(t, func(o *Options) { o.Now = clock.Now })
	ev := s.Event("acs.user.updated_v1", map[string]any{"k": 1})
	var v struct{ Header map[string]any }
	raw := mustJSON(ev)
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	h := v.Header
	want := map[string]any{
		"event_id": ev.EventID(), "event_type": "acs.user.updated_v1", "create_time": "1772442000000",
		"token": testVerify, "app_id": testAppID, "tenant_key": "tenant_fake",
	}
	for k, w := range want {
		if h[k] != w {
			t.Errorf("header %s = %v, want %v", k, h[k], w)
		}
	}
	if len(h) != len(want) || len(ev.EventID()) != 32 || !strings.HasPrefix(raw, `{"schema":"2.0",`) {
		t.Errorf("envelope %s", raw)
	}
	if other := s.Event("x", nil); other.EventID() == ev.EventID() {
		t.Error("event ids repeat")
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
