package acs

import (
	"context"
	"errors"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"

	"acsbot/feishu"
)

// fetchUser reads one user with GET /open-apis/acs/v1/users/:user_id, retried as a
// page is. found is false when Feishu says the user is in no permission group.
func (d *Directory) fetchUser(ctx context.Context, id string) (u User, found bool, err error) {
	op := "get acs user " + id
	err = d.c.Do(ctx, op, d.o.Retry, func(ctx context.Context) error {
		if d.o.PageTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d.o.PageTimeout)
			defer cancel()
		}
		req := larkacs.NewGetUserReqBuilder().UserId(id).UserIdType(d.o.UserIDType).Build()
		resp, err := d.c.Lark().Acs.V1.User.Get(ctx, req)
		if err != nil {
			return feishu.Classify(op, nil, larkcore.CodeError{}, err)
		}
		if err := feishu.Classify(op, resp.ApiResp, resp.CodeError, nil); err != nil {
			return err
		}
		if resp.Data == nil || resp.Data.User == nil {
			return &feishu.Error{Op: op, Class: feishu.Permanent, HTTPStatus: resp.StatusCode,
				LogID: resp.RequestId(), Err: errors.New("feishu answered code 0 without a user")}
		}
		// The path named the user; an answer that leaves the id out still means them.
		u = userOf(resp.Data.User)
		u.ID = id
		return nil
	})
	if feishu.VerdictOf(err).NotFound {
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, err
	}
	return u, true, nil
}

// userOf converts the SDK's user; absent values are a user without card or face.
func userOf(it *larkacs.User) User {
	u := User{ID: larkcore.StringValue(it.UserId)}
	if it.Feature != nil {
		u.Card = larkcore.IntValue(it.Feature.Card)
		u.FaceUploaded = larkcore.BoolValue(it.Feature.FaceUploaded)
	}
	return u
}
