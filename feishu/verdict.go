package feishu

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Verdict is what a caller does about a failed call, decided here once: callers act
// on it and never read Feishu's codes themselves.
type Verdict struct {
	// Retry: a later attempt of the same work may succeed.
	Retry bool
	// After is the least wait before that attempt; 0 leaves the pace to the caller.
	After time.Duration
	// AppWide: the refusal is the same for every recipient (the app lacks a scope,
	// the bot is off, the monthly quota is used up), so a round of sends stops at
	// the first one.
	AppWide bool
	// NotFound: what was asked for does not exist (an ACS user in no permission
	// group), an answer rather than a failure.
	NotFound bool
	// Code and Msg are Feishu's, for a card that shows them; 0 and "" when the call
	// failed before Feishu answered.
	Code int
	Msg  string
	// Reason says why, as people read it: Feishu's code and message, without the
	// operation's ids.
	Reason string
	// Locked: the card is being clicked, and Feishu refuses its updates until the
	// click's answer shows; an update may go a moment later.
	Locked bool
	// Expired: the card is older than the 14 days Feishu lets a bot update it; what
	// it would have said goes in a new message instead.
	Expired bool
	// UnknownPerson: the card names someone Feishu cannot show (not in the tenant's
	// directory), so Feishu refused all of it; the card may go without them.
	UnknownPerson bool
}

// Refusals of a card that a caller acts on (feishu-platform.md §4.9): Feishu sends
// them as code 230099 with a sub-code in the message.
const (
	codeCardBuildFailed = 230099
	codeUpdateExpired   = 230031
	subCodeCardLocked   = "ErrCode: 11310; ErrMsg: card action is lock"
	subCodeBadPerson    = "ErrCode: 100290"
	// lockedRetryAfter is the pause before an update of a locked card is tried
	// again: long enough for a client to show a click's answer.
	lockedRetryAfter = 500 * time.Millisecond
)

// Codes that refuse a call for the whole app rather than for one recipient.
const (
	codeAppDisabled     = 99991662
	codeScopeNotGranted = 99991672
	codeAppNotUsable    = 99991673
	codeTokenLacksScope = 99991676
	codeBotNotActivated = 230006
)

// codeACSUserNotFound: the ACS user is in no permission group (feishu-platform.md §6.2).
const codeACSUserNotFound = 1490101

// VerdictOf judges err, the failure of a call made with Do or Classify. A call cut
// short because its context was cancelled (the bot stopping) is worth retrying after
// the restart; an error that is not Feishu's is judged passing.
func VerdictOf(err error) Verdict {
	if err == nil {
		return Verdict{}
	}
	var fe *Error
	if !errors.As(err, &fe) {
		return Verdict{Retry: true, Reason: err.Error()}
	}
	v := Verdict{Code: fe.Code, Msg: fe.Msg, Reason: fe.detail()}
	if fe.Code != 0 {
		v.Reason = fmt.Sprintf("feishu code %d: %s", fe.Code, fe.Msg)
	}
	switch fe.Class {
	case Retryable, TokenInvalid, InvalidPageToken:
		v.Retry = true
	case RateLimited:
		v.Retry, v.After = true, fe.RetryAfter
	case Permanent:
		v.Retry = errors.Is(err, context.Canceled)
	case QuotaExhausted:
		// Not before the 1st: no retry inside a job's life can succeed.
		v.AppWide = true
	}
	v.NotFound = fe.Code == codeACSUserNotFound
	switch fe.Code {
	case codeAppDisabled, codeScopeNotGranted, codeAppNotUsable, codeTokenLacksScope, codeBotNotActivated:
		v.AppWide = true
	case codeUpdateExpired:
		v.Expired = true
	case codeCardBuildFailed:
		switch {
		case strings.Contains(fe.Msg, subCodeCardLocked):
			v.Locked, v.Retry, v.After = true, true, lockedRetryAfter
		case strings.Contains(fe.Msg, subCodeBadPerson):
			v.UnknownPerson = true
		}
	}
	return v
}
