package feishu

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// The texts of 230099 the create message page documents for sub-codes 11310 and 100290.
const (
	lockedMsg    = "Failed to create card content, ext=ErrCode: 11310; ErrMsg: card action is lock; code:230099"
	tooBigMsg    = "Failed to create card content, ext=ErrCode: 11310; ErrMsg: element exceeds the limit; code:230099"
	badPersonMsg = "Failed to create card content, ext=ErrCode: 100290; ErrMsg: There is an invalid user resource(at/person) in your card; ErrorValue: ou_x"
)

func TestVerdictOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Verdict
	}{
		{"nil", nil, Verdict{}},
		{"server error", &Error{Op: "send", Class: Retryable, HTTPStatus: 502},
			Verdict{Retry: true, Reason: "feishu http 502"}},
		{"rate limited waits as told", &Error{Op: "send", Class: RateLimited, Code: 230020, Msg: "too fast", RetryAfter: 3 * time.Second},
			Verdict{Retry: true, After: 3 * time.Second, Code: 230020, Msg: "too fast", Reason: "feishu code 230020: too fast"}},
		{"one recipient refused", &Error{Op: "send to open_id ou_1", Class: Permanent, Code: 230013, Msg: "Bot is not available to the user"},
			Verdict{Code: 230013, Msg: "Bot is not available to the user", Reason: "feishu code 230013: Bot is not available to the user"}},
		{"scope missing refuses everyone", &Error{Op: "send", Class: Permanent, Code: 99991672, Msg: "scope"},
			Verdict{AppWide: true, Code: 99991672, Msg: "scope", Reason: "feishu code 99991672: scope"}},
		{"bot off refuses everyone", &Error{Op: "send", Class: Permanent, Code: 230006, Msg: "bot"},
			Verdict{AppWide: true, Code: 230006, Msg: "bot", Reason: "feishu code 230006: bot"}},
		{"cancelled by a stop is tried again", &Error{Op: "send", Class: Permanent, Err: fmt.Errorf("%w; last failure: x", context.Canceled)},
			Verdict{Retry: true, Reason: "context canceled; last failure: x"}},
		{"an ACS user in no permission group", &Error{Op: "get acs user", Class: Permanent, Code: 1490101, Msg: "user not found"},
			Verdict{NotFound: true, Code: 1490101, Msg: "user not found", Reason: "feishu code 1490101: user not found"}},
		{"not Feishu's", errors.New("disk full"), Verdict{Retry: true, Reason: "disk full"}},
		{"card locked by a click is updated a moment later", &Error{Op: "patch", Class: Permanent, Code: 230099, Msg: lockedMsg},
			Verdict{Retry: true, After: 500 * time.Millisecond, Locked: true, Code: 230099, Msg: lockedMsg, Reason: "feishu code 230099: " + lockedMsg}},
		{"too many components is not a lock", &Error{Op: "patch", Class: Permanent, Code: 230099, Msg: tooBigMsg},
			Verdict{Code: 230099, Msg: tooBigMsg, Reason: "feishu code 230099: " + tooBigMsg}},
		{"a person Feishu cannot show", &Error{Op: "reply", Class: Permanent, Code: 230099, Msg: badPersonMsg},
			Verdict{UnknownPerson: true, Code: 230099, Msg: badPersonMsg, Reason: "feishu code 230099: " + badPersonMsg}},
		{"a card too old to update", &Error{Op: "patch", Class: Permanent, Code: 230031, Msg: "too old"},
			Verdict{Expired: true, Code: 230031, Msg: "too old", Reason: "feishu code 230031: too old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerdictOf(tt.err); got != tt.want {
				t.Fatalf("VerdictOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}
