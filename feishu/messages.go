package feishu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
)

const msgTypeInteractive = "interactive"

// Reply answers messageID with an interactive card and returns the new message's id.
// A non-empty uuid makes retries idempotent: Feishu sends at most one message per
// uuid an hour. An empty uuid is left out of the request, never sent as "".
func (c *Client) Reply(ctx context.Context, messageID, cardJSON, uuid string) (string, error) {
	var id string
	err := c.Do(ctx, "reply to message "+messageID, c.msgRetry, func(ctx context.Context) error {
		body := larkim.NewReplyMessageReqBodyBuilder().MsgType(msgTypeInteractive).Content(cardJSON)
		if uuid != "" {
			body.Uuid(uuid)
		}
		resp, err := c.lark.Im.V1.Message.Reply(ctx, larkim.NewReplyMessageReqBuilder().
			MessageId(messageID).Body(body.Build()).Build())
		if err != nil {
			return err
		}
		if err := Classify("reply to message "+messageID, resp.ApiResp, resp.CodeError, nil); err != nil {
			return err
		}
		if resp.Data == nil || larkcore.StringValue(resp.Data.MessageId) == "" {
			return &Error{Op: "reply to message " + messageID, Class: Permanent, HTTPStatus: resp.StatusCode,
				Err: errors.New("feishu answered without a message id")}
		}
		id = larkcore.StringValue(resp.Data.MessageId)
		return nil
	})
	c.countMessage("reply", err)
	return id, err
}

// Send posts an interactive card to receiveID ("chat_id" + oc_…, "open_id" + ou_…)
// and returns the message id. uuid works as in Reply.
func (c *Client) Send(ctx context.Context, receiveIDType, receiveID, cardJSON, uuid string) (string, error) {
	op := fmt.Sprintf("send message to %s %s", receiveIDType, receiveID)
	var id string
	err := c.Do(ctx, op, c.msgRetry, func(ctx context.Context) error {
		body := larkim.NewCreateMessageReqBodyBuilder().ReceiveId(receiveID).MsgType(msgTypeInteractive).Content(cardJSON)
		if uuid != "" {
			body.Uuid(uuid)
		}
		resp, err := c.lark.Im.V1.Message.Create(ctx, larkim.NewCreateMessageReqBuilder().
			ReceiveIdType(receiveIDType).Body(body.Build()).Build())
		if err != nil {
			return err
		}
		if err := Classify(op, resp.ApiResp, resp.CodeError, nil); err != nil {
			return err
		}
		if resp.Data == nil || larkcore.StringValue(resp.Data.MessageId) == "" {
			return &Error{Op: op, Class: Permanent, HTTPStatus: resp.StatusCode,
				Err: errors.New("feishu answered without a message id")}
		}
		id = larkcore.StringValue(resp.Data.MessageId)
		return nil
	})
	c.countMessage("send", err)
	return id, err
}

// Patch replaces the card of a message the bot sent (it must have update_multi set).
func (c *Client) Patch(ctx context.Context, messageID, cardJSON string) error {
	op := "patch message " + messageID
	err := c.Do(ctx, op, c.msgRetry, func(ctx context.Context) error {
		resp, err := c.lark.Im.V1.Message.Patch(ctx, larkim.NewPatchMessageReqBuilder().
			MessageId(messageID).
			Body(larkim.NewPatchMessageReqBodyBuilder().Content(cardJSON).Build()).
			Build())
		if err != nil {
			return err
		}
		return Classify(op, resp.ApiResp, resp.CodeError, nil)
	})
	c.countMessage("patch", err)
	return err
}

func (c *Client) countMessage(kind string, err error) {
	if c.metrics == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = ClassOf(err).String()
	}
	c.metrics.MessagesSent.WithLabelValues(kind, result).Inc()
}

// botInfoPath has no typed API in SDK v3.12.0, so it goes through the raw call.
const botInfoPath = "/open-apis/bot/v3/info"

// BotOpenID asks Feishu for the bot's own open_id, which tells a mention of the bot
// from a mention of someone else.
func (c *Client) BotOpenID(ctx context.Context) (string, error) {
	const op = "get bot info"
	var id string
	err := c.Do(ctx, op, c.msgRetry, func(ctx context.Context) error {
		resp, err := c.lark.Get(ctx, botInfoPath, nil, larkcore.AccessTokenTypeTenant)
		if err != nil {
			return err
		}
		var body struct {
			larkcore.CodeError
			Bot *struct {
				OpenID string `json:"open_id"`
			} `json:"bot"`
		}
		if err := json.Unmarshal(resp.RawBody, &body); err != nil {
			return &Error{Op: op, Class: classOfStatus(resp.StatusCode), HTTPStatus: resp.StatusCode,
				LogID: resp.RequestId(), Err: fmt.Errorf("decode bot info: %w", err)}
		}
		if err := Classify(op, resp, body.CodeError, nil); err != nil {
			return err
		}
		if body.Bot == nil || body.Bot.OpenID == "" {
			return &Error{Op: op, Class: Permanent, HTTPStatus: resp.StatusCode, LogID: resp.RequestId(),
				Err: errors.New("feishu answered without the bot's open_id (is the bot capability enabled?)")}
		}
		id = body.Bot.OpenID
		return nil
	})
	return id, err
}

// ChatName is a chat's name; "" when the chat has none. A name is kept for a day:
// each look-up is a call Feishu counts.
func (c *Client) ChatName(ctx context.Context, chatID string) (string, error) {
	if v, ok := c.chatNames.Get(chatID); ok {
		return v.(string), nil
	}
	op := "get chat " + chatID
	var name string
	err := c.Do(ctx, op, c.msgRetry, func(ctx context.Context) error {
		resp, err := c.lark.Im.V1.Chat.Get(ctx, larkim.NewGetChatReqBuilder().ChatId(chatID).Build())
		if err != nil {
			return err
		}
		if err := Classify(op, resp.ApiResp, resp.CodeError, nil); err != nil {
			return err
		}
		if resp.Data != nil {
			name = larkcore.StringValue(resp.Data.Name)
		}
		return nil
	})
	if err == nil {
		c.chatNames.SetDefault(chatID, name)
	}
	return name, err
}
