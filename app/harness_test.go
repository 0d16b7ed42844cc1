package app_test

import (
	"testing"

	"acsbot/bottest"
)

// The people and chats of the test tenant (bottest's).
const (
	adminID    = bottest.AdminID
	readerID   = bottest.ReaderID
	outsiderID = bottest.OutsiderID
	readerChat = bottest.ReaderChat
	otherChat  = bottest.OtherChat
	adminP2P   = bottest.AdminP2P
	verifyTok  = bottest.VerifyToken
	encryptKey = bottest.EncryptKey
)

// harness is the test kit's bot; the app tests add their own helpers to it.
type harness struct {
	*bottest.Bot
	t testing.TB
}

type harnessOpts = bottest.Options

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	return &harness{Bot: bottest.New(t, o), t: t}
}

// The kit's readers of events and cards, under the names the app tests use.
var (
	at             = bottest.At
	messageID      = bottest.MessageID
	texts          = bottest.Texts
	readable       = bottest.Readable
	callbackValues = bottest.CallbackValues
)
