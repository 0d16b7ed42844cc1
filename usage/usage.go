// Package usage is the meter of the bot's Feishu API calls: what it spent this
// calendar month, by kind, kept in the store so a restart does not reset it, and the
// guard of the monthly quota Feishu's free edition puts on counted calls.
//
// The feishu client reports every call Feishu answered with success here, from the
// one place all of them pass (its HTTP transport); a failed call is not reported,
// as Feishu does not count it. Messages and look-ups count against the quota; ACS
// calls do not, and are kept apart so /usage can show what the directory costs.
package usage

import "strings"

// Kind is a kind of Feishu call.
type Kind string

// The kinds, counted ones first.
const (
	// Reply answers a message (POST /im/v1/messages/:id/reply).
	Reply Kind = "reply"
	// Send posts a new message: a summary, a reminder, a direct answer.
	Send Kind = "send"
	// CardUpdate replaces a card the bot sent (PATCH /im/v1/messages/:id).
	CardUpdate Kind = "card_update"
	// Lookup asks Feishu about a chat or the bot itself.
	Lookup Kind = "lookup"
	// Other is any other Open API call outside the exempt areas: Feishu counts it.
	Other Kind = "other"
	// ACSList reads one page of the ACS user list. Not counted.
	ACSList Kind = "acs_list"
	// ACSGet reads one ACS user. Not counted.
	ACSGet Kind = "acs_get"
	// ACSOther is any other ACS call (devices, access records). Not counted.
	ACSOther Kind = "acs_other"
)

// Kinds are all kinds, in the order cards and metrics list them.
func Kinds() []Kind {
	return []Kind{Reply, Send, CardUpdate, Lookup, Other, ACSList, ACSGet, ACSOther}
}

// Counted reports whether Feishu counts calls of kind k against the monthly quota:
// everything but the exempt business areas, of which the bot calls only ACS
// (feishu-platform.md §7.4).
func (k Kind) Counted() bool { return !strings.HasPrefix(string(k), "acs_") }

// Of is the kind of an Open API request, by method and path; ok is false for the
// calls that are neither counted nor worth showing (the access token).
func Of(method, path string) (k Kind, ok bool) {
	rest, found := strings.CutPrefix(path, "/open-apis/")
	if !found {
		return "", false
	}
	switch {
	case strings.HasPrefix(rest, "auth/"):
		return "", false
	case rest == "acs/v1/users":
		return ACSList, true
	case strings.HasPrefix(rest, "acs/v1/users/") && strings.Count(rest, "/") == 3:
		return ACSGet, true
	case strings.HasPrefix(rest, "acs/"):
		return ACSOther, true
	case method == "POST" && rest == "im/v1/messages":
		return Send, true
	case method == "POST" && strings.HasPrefix(rest, "im/v1/messages/") && strings.HasSuffix(rest, "/reply"):
		return Reply, true
	case method == "PATCH" && strings.HasPrefix(rest, "im/v1/messages/"),
		rest == "interactive/v1/card/update":
		return CardUpdate, true
	case method == "GET" && (strings.HasPrefix(rest, "im/v1/chats/") || rest == "bot/v3/info"):
		return Lookup, true
	}
	return Other, true
}
