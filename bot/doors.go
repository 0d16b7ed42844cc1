package bot

import (
	"context"
	"errors"
	"strings"
	"time"

	"acsbot/cards"
	"acsbot/doors"
	"acsbot/feishu"
	"acsbot/inbox"
)

// The scopes the door commands need, with their names in the developer console.
const (
	scopeDevices = "acs:devices:readonly"
	scopeRecords = "acs:access_record:readonly"
)

var scopeLabels = map[string]string{
	scopeDevices: "查看智能门禁设备列表 / view the ACS device list",
	scopeRecords: "查看智能门禁记录 / view ACS access records",
}

// tidyTimeout bounds the doors' housekeeping: a prune of a day's records.
const tidyTimeout = time.Minute

// showPrivate reports whether one person's door records, or any list of names, may
// be shown to openID: only to an admin in a direct chat, like full card numbers.
func (g gate) showPrivate(openID string, directChat bool) bool {
	return g.showCardNumbers(openID, directChat)
}

// accessRecord stores the door record an event brought.
func (b *Bot) accessRecord(ctx context.Context, j inbox.Job) error {
	at, ok := doors.ParseTime(j.Extra["access_time"])
	if !ok {
		b.log.Warn("door record event without a time; dropped", "key", j.Key)
		return nil
	}
	return b.doors.Add(ctx, doors.Record{
		ID:       j.Extra["access_record_id"],
		UserID:   j.Sender.Of(b.cfg.ACS.UserIDType),
		DeviceID: j.Extra["device_id"],
		At:       at,
		DoorOpen: j.Extra["is_door_open"] == "true",
		ClockIn:  j.Extra["is_clock_in"] == "true",
	})
}

// tidyDoors is the doors' share of housekeeping.
func (b *Bot) tidyDoors() {
	ctx, cancel := context.WithTimeout(context.Background(), tidyTimeout)
	defer cancel()
	b.doors.Tidy(ctx)
}

// listDoors answers /doors from a device list shared by everyone asking for a while.
func (b *Bot) listDoors(ctx context.Context, r request) (cards.Card, string, error) {
	list, err := b.doors.Devices(ctx)
	if err != nil {
		return b.doorsFailed(r, err, scopeDevices)
	}
	last, err := b.doors.LastOpened(ctx)
	if err != nil {
		return cards.Card{}, "", err
	}
	v := cards.View{Lang: r.lang(), TakenAt: list.TakenAt, Now: b.now()}
	return cards.Doors(v, b.doors.Location(), list, last), "ok", nil
}

// access answers /access [@someone] [YYYY-MM-DD]. One person's records go only to
// an admin in a direct chat; anywhere else the day's counts by door, with a line
// saying where to ask for the person's.
func (b *Bot) access(ctx context.Context, r request) (cards.Card, string, error) {
	now := b.now()
	today := b.doors.Day(now)
	earliest := b.doors.Day(now.AddDate(0, 0, -doors.MaxDaysBack))
	day := today
	switch len(r.p.Args) {
	case 0:
	case 1:
		day = r.p.Args[0]
		if !validDay(day, earliest, today) {
			return cards.BadDate(r.lang(), day, earliest, today), "usage", nil
		}
	default:
		return cards.BadDate(r.lang(), strings.Join(r.p.Args, " "), earliest, today), "usage", nil
	}
	person := ""
	if len(r.p.Users) > 0 {
		if person = idOfMentioned(r.job, r.p.Users[0], b.cfg.ACS.UserIDType); person == "" {
			return cards.Usage(r.lang(), r.p.Spec, ""), "usage", nil
		}
	}
	names := b.doorNames(ctx)
	if person != "" && b.gate.showPrivate(r.job.Sender.OpenID, r.job.ChatType == "p2p") {
		recs, err := b.doors.Person(ctx, person, day)
		if err != nil {
			return b.doorsFailed(r, err, scopeRecords)
		}
		return cards.AccessPerson(r.lang(), b.doors.Location(), day, person, recs, names), "ok", nil
	}
	counts, err := b.doors.DayCounts(ctx, day)
	if err != nil {
		return b.doorsFailed(r, err, scopeRecords)
	}
	return cards.AccessDay(r.lang(), day, counts, names, person != ""), "ok", nil
}

// validDay reports whether s is a real YYYY-MM-DD day from earliest to today;
// the strings compare as the days do.
func validDay(s, earliest, today string) bool {
	d, err := time.Parse(time.DateOnly, s)
	return err == nil && d.Format(time.DateOnly) == s && s >= earliest && s <= today
}

// doorNames names the doors on an /access card: from any device list read so far,
// else one read now; without one (no scope, Feishu failing) doors go by their ids,
// since the records are the answer.
func (b *Bot) doorNames(ctx context.Context) map[string]string {
	if l := b.doors.CachedDevices(); l != nil {
		return l.Names()
	}
	l, err := b.doors.Devices(ctx)
	if err != nil {
		b.log.Warn("door names unavailable; showing device ids", "err", err)
		return nil
	}
	return l.Names()
}

// doorsFailed answers a door command Feishu refused: a missing scope is named with
// where to grant it; another Feishu failure gets the error card. Anything else is the
// store failing, for a passing reason: the job is tried again.
func (b *Bot) doorsFailed(r request, err error, scope string) (cards.Card, string, error) {
	var fe *feishu.Error
	if !errors.As(err, &fe) {
		return cards.Card{}, "", err
	}
	b.log.Warn("door command failed", "command", r.p.Spec.Name, "err", err)
	if feishu.ScopeMissing(err) {
		return cards.ScopeMissing(r.lang(), scope, scopeLabels[scope]), "scope_missing", nil
	}
	return errorCard(r.lang(), err), "error", nil
}
