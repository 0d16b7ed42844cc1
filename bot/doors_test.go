package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"acsbot/bottest"
	"acsbot/clock"
	"acsbot/doors"
	"acsbot/feishufake"
)

const (
	aliceID = "ou_alice000000000000000000000000001"
	bobID   = "ou_bob00000000000000000000000000002"
	today   = "2026-11-25"
)

// testDoors are a lab door that is online, a lobby whose face store is 92 % full,
// a back gate that is offline, and an attendance machine that says nothing of its
// status.
func testDoors() []feishufake.FakeDevice {
	return []feishufake.FakeDevice{
		{ID: "d_lab", Name: "Lab door", SN: "SN1", Property: &feishufake.DeviceProperty{Online: true, Faces: 120, Capacity: 5000}},
		{ID: "d_lobby", Name: "Lobby", SN: "SN2", Property: &feishufake.DeviceProperty{Online: true, Faces: 4600, Capacity: 5000}},
		{ID: "d_back", Name: "Back gate", SN: "SN3", Property: &feishufake.DeviceProperty{Online: false, Faces: 10, Capacity: 5000}},
		{ID: "d_clock", Name: "Attendance", SN: "SN4"},
	}
}

// doorBot is a test bot whose clock stands at 10:00 of today, with the test doors.
func doorBot(t *testing.T) (*bottest.Bot, *clock.Fake) {
	t.Helper()
	c := clock.NewFake(bottest.At(today, "10:00"))
	b := bottest.New(t, bottest.Options{Clock: c})
	b.Fake.SetDevices(testDoors())
	return b, c
}

// ask sends text as sender in a chat, @-mentioning the people given (Alice's
// placeholder is @_user_1), and returns the reply as a person reads it.
func ask(b *bottest.Bot, chatType, chatID, sender, text string, mentioned ...string) string {
	b.T.Helper()
	var ms []feishufake.Mention
	for i, id := range mentioned {
		ms = append(ms, feishufake.Mention{Key: fmt.Sprintf("@_user_%d", i+1), OpenID: id, Name: id[3:8]})
	}
	ev := b.Fake.MessageEvent(feishufake.UserMessage{ChatID: chatID, ChatType: chatType, SenderOpenID: sender,
		Text: text, Mentions: ms, MentionBot: chatType == "group"})
	if status, body := b.Deliver(ev); status != 200 {
		b.T.Fatalf("deliver %q: %d %s", text, status, body)
	}
	return bottest.Readable(bottest.Texts(b.T, b.ReplyTo(bottest.MessageID(b.T, ev)).Content))
}

// pass makes a record and tells the bot of it, as a device and Feishu do.
func pass(b *bottest.Bot, id, user, device string, at time.Time, open, clockIn bool) doors.Record {
	b.T.Helper()
	r := doors.Record{ID: id, UserID: user, DeviceID: device, At: at, DoorOpen: open, ClockIn: clockIn}
	b.Fake.AddAccessRecords(r)
	if status, body := b.Deliver(b.Fake.AccessRecordEvent(r)); status != 200 {
		b.T.Fatalf("deliver record %s: %d %s", id, status, body)
	}
	return r
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func mustNotContain(t *testing.T, what, got string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(got, w) {
			t.Fatalf("%s shows %q:\n%s", what, w, got)
		}
	}
}

// /doors in each of its forms lists every door with what Feishu says of it, and one
// device list call serves every asker for a while.
func TestDoorsForms(t *testing.T) {
	b, c := doorBot(t)
	pass(b, "r1", aliceID, "d_lab", bottest.At(today, "09:12").Add(0), true, false)
	c.Set(bottest.At(today, "10:01"))
	for _, form := range []struct{ chatType, chat, who, text string }{
		{"group", bottest.ReaderChat, bottest.ReaderID, "/doors"},
		{"group", bottest.ReaderChat, bottest.ReaderID, "门禁设备"},
		{"p2p", bottest.AdminP2P, bottest.AdminID, "doors"},
	} {
		got := ask(b, form.chatType, form.chat, form.who, form.text)
		if form.text == "doors" {
			mustContain(t, form.text, got, "**Lab door** · 🟢 online", "**Back gate** · 🔴 offline", "**Attendance** · ⚪ status unknown",
				"faces 4,600/5,000 ⚠️ face store nearly full", "last entry "+today+" 09:12")
			continue
		}
		mustContain(t, form.text, got, "**Lab door** · 🟢 在线", "**Back gate** · 🔴 离线", "**Attendance** · ⚪ 状态未知", "人脸库将满", "最近开门 "+today+" 09:12")
		mustNotContain(t, form.text, got, "**Attendance** · 🔴")
	}
	if n := b.Fake.DeviceCalls(); n != 1 {
		t.Errorf("three askers cost %d device list calls, want 1", n)
	}
	if got := ask(b, "group", bottest.OtherChat, bottest.OutsiderID, "/doors"); !strings.Contains(got, "无法在这里使用") {
		t.Errorf("an outsider's /doors was answered:\n%s", got)
	}
}

// One person's records go only to an admin in a direct chat; in a group the admin
// gets the counts and where to ask; readers and outsiders get nothing.
func TestAccessPrivacy(t *testing.T) {
	b, _ := doorBot(t)
	pass(b, "r1", aliceID, "d_lab", bottest.At(today, "10:00").Add(-47*time.Minute), true, false)
	pass(b, "r2", aliceID, "d_clock", bottest.At(today, "10:00").Add(-45*time.Minute), false, true)
	pass(b, "r3", bobID, "d_lab", bottest.At(today, "10:00").Add(-40*time.Minute), true, false)

	dm := ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "/access @_user_1", aliceID)
	mustContain(t, "admin's DM", dm, aliceID, "09:13:00 · **Lab door** · 开门", "09:15:00 · **Attendance** · 打卡（未开门）")
	mustNotContain(t, "admin's DM", dm, "09:20")

	group := ask(b, "group", bottest.ReaderChat, bottest.AdminID, "通行记录 @_user_1", aliceID)
	mustContain(t, "admin in a group", group, "共开门 **2** 次", "**Lab door**：开门 2 次", "私聊")
	mustNotContain(t, "admin in a group", group, aliceID, "09:13", "09:15")

	for _, who := range []struct{ chatType, chat, id string }{
		{"group", bottest.ReaderChat, bottest.ReaderID},
		{"p2p", "oc_p2p_reader", bottest.ReaderID},
		{"group", bottest.OtherChat, bottest.OutsiderID},
	} {
		got := ask(b, who.chatType, who.chat, who.id, "/access @_user_1", aliceID)
		mustContain(t, who.id+" in "+who.chat, got, "无法在这里使用")
		mustNotContain(t, who.id+" in "+who.chat, got, "Lab door", aliceID)
	}

	en := ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "access")
	mustContain(t, "access", en, "Doors opened **2** times; **1** clock-ins opened no door.", "**Lab door**: opened 2")
}

// A record Feishu delivers twice, or brings in two events, is stored once.
func TestRecordArrivingTwiceStoredOnce(t *testing.T) {
	b, _ := doorBot(t)
	r := pass(b, "r1", aliceID, "d_lab", bottest.At(today, "09:00"), true, false)
	ev := b.Fake.AccessRecordEvent(r)
	for range 2 {
		if status, _ := b.Deliver(ev); status != 200 {
			t.Fatal("re-delivery refused")
		}
	}
	got := ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "/access")
	mustContain(t, "/access", got, "共开门 **1** 次")
}

// A day the bot did not hear is read from Feishu once, stored as read, and then
// answered from the store, after a restart too.
func TestDayReadOnceThenFromStore(t *testing.T) {
	b, _ := doorBot(t)
	day := "2026-11-20"
	for i := range 1234 {
		b.Fake.AddAccessRecords(doors.Record{ID: fmt.Sprintf("old%d", i), UserID: aliceID, DeviceID: []string{"d_lab", "d_lobby"}[i%2],
			At: bottest.At(day, "08:00").Add(time.Duration(i) * time.Second), DoorOpen: i%10 != 0, ClockIn: i%10 == 0})
	}
	want := []string{"共开门 **1,110** 次，另有 **124** 次打卡未开门。", "**Lab door**：开门 493 次 · 仅打卡 124 次", "**Lobby**：开门 617 次"}
	mustContain(t, "first ask", ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "/access "+day), want...)
	calls := b.Fake.RecordCalls()
	if calls != 3 {
		t.Errorf("reading 1,234 records took %d calls, want 3 pages of 500", calls)
	}
	mustContain(t, "second ask", ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "/access "+day), want...)
	b.Restart()
	mustContain(t, "after a restart", ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "/access "+day), want...)
	if n := b.Fake.RecordCalls(); n != calls {
		t.Errorf("the day was read again: %d record calls, want %d", n, calls)
	}
	for _, c := range b.Calls() {
		if strings.HasPrefix(c.Path, "/open-apis/acs/v1/access_records") && c.Query != "" && !strings.Contains(c.Query, "from=") {
			t.Errorf("record call without from: %s", c.Query)
		}
	}
}

// Records that arrive while the day is being read are stored once, whichever way
// they come.
func TestRecordsDuringBackfill(t *testing.T) {
	b, c := doorBot(t)
	for i := range 1200 {
		b.Fake.AddAccessRecords(doors.Record{ID: fmt.Sprintf("m%d", i), UserID: aliceID, DeviceID: "d_lab",
			At: bottest.At(today, "08:00").Add(time.Duration(i) * time.Second), DoorOpen: true})
	}
	b.Fake.SetRecordLatency(300 * time.Millisecond)
	ev := b.Say("p2p", bottest.AdminP2P, bottest.AdminID, "/access")
	b.Eventually("the read to begin", func() bool { return b.Fake.RecordCalls() >= 1 })
	c.Add(time.Second)
	// One record the read also brings, and two new ones.
	if status, _ := b.Deliver(b.Fake.AccessRecordEvent(b.Fake.AccessRecords()[5])); status != 200 {
		t.Fatal("event refused")
	}
	pass(b, "new1", bobID, "d_lab", c.Now(), true, false)
	pass(b, "new2", bobID, "d_lobby", c.Now(), true, false)
	got := bottest.Readable(bottest.Texts(t, b.ReplyTo(bottest.MessageID(t, ev)).Content))
	mustContain(t, "/access during the read", got, "共开门 **1,202** 次", "**Lab door**：开门 1,201 次", "**Lobby**：开门 1 次")
	b.Fake.SetRecordLatency(0)
	mustContain(t, "/access after it", ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "/access"), "共开门 **1,202** 次")
}

// A day that is not a date, in the future or more than 30 days back gets a card
// saying what is allowed; 30 days back is allowed.
func TestAccessBadDates(t *testing.T) {
	b, _ := doorBot(t)
	for _, arg := range []string{"2026-13-01", "2026-02-30", "2026-11-26", "2026-10-25", "yesterday", "2026-11-25 2026-11-24"} {
		got := ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "/access "+arg)
		mustContain(t, arg, got, "日期不对", "从 2026-10-26（30 天前）到今天 2026-11-25")
	}
	mustContain(t, "English", ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "access 2026-11-31"), "Check the date", "YYYY-MM-DD")
	mustContain(t, "30 days back", ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "/access 2026-10-26"), "通行记录 2026-10-26")
}

// A scope the app lacks is named on the card, with where to grant it.
func TestMissingScopesExplained(t *testing.T) {
	b, _ := doorBot(t)
	b.Fake.WithoutScope("acs:devices:readonly")
	b.Fake.WithoutScope("acs:access_record:readonly")
	mustContain(t, "/doors", ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "/doors"), "acs:devices:readonly", "权限管理")
	mustContain(t, "/access", ask(b, "p2p", bottest.AdminP2P, bottest.AdminID, "/access 2026-11-20"), "acs:access_record:readonly", "权限管理")
}

// The daily summary has yesterday's entries by door and the doors offline or nearly
// full, from one device list call for every chat.
func TestSummaryDoorsLine(t *testing.T) {
	c := clock.NewFake(bottest.At(today, "08:58"))
	b := bottest.New(t, bottest.Options{Clock: c})
	b.Fake.SetDevices(testDoors())
	for i := range 5 {
		b.Fake.AddAccessRecords(doors.Record{ID: fmt.Sprintf("y%d", i), UserID: aliceID, DeviceID: []string{"d_lab", "d_lab", "d_lab", "d_lobby", "d_clock"}[i],
			At: bottest.At("2026-11-24", "09:00").Add(time.Duration(i) * time.Minute), DoorOpen: i < 4, ClockIn: i == 4})
	}
	ask(b, "group", bottest.ReaderChat, bottest.AdminID, "/subscribe 09:00")
	ask(b, "group", bottest.OtherChat, bottest.AdminID, "/subscribe 09:00")
	c.Set(bottest.At(today, "09:00").Add(5 * time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.App().Scheduler().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range b.Fake.Messages() {
		if m.Kind == "create" && strings.HasPrefix(m.UUID, "ds-") {
			got = append(got, bottest.Readable(bottest.Texts(t, m.Content)))
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d summaries, want 2", len(got))
	}
	for _, s := range got {
		mustContain(t, "summary", s, "**门禁**（2026-11-24）：开门 4 次 — Lab door 3 · Lobby 1", "离线：Back gate", "人脸库将满：Lobby (4,600/5,000)")
	}
	if n := b.Fake.DeviceCalls(); n != 1 {
		t.Errorf("two summaries cost %d device list calls, want 1", n)
	}
	if n := b.Fake.RecordCalls(); n != 1 {
		t.Errorf("yesterday cost %d record calls, want 1", n)
	}
}

// Records older than 31 days are pruned by housekeeping, which runs at start.
func TestOldRecordsPruned(t *testing.T) {
	b, _ := doorBot(t)
	old := pass(b, "old", aliceID, "d_lab", bottest.At("2026-10-20", "09:00"), true, false)
	recent := pass(b, "recent", aliceID, "d_lab", bottest.At("2026-10-30", "09:00"), true, false)
	b.Restart()
	st := b.DB()
	b.Eventually("the old record pruned", func() bool {
		recs, err := st.PersonRecords(context.Background(), aliceID, old.At.Add(-time.Hour), recent.At.Add(time.Hour))
		return err == nil && len(recs) == 1 && recs[0].ID == "recent"
	})
}
