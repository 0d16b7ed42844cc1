// Package scheduler posts the daily summary to subscribed chats at their local time,
// once per chat per local day, and holds the time-of-day rules the subscription
// commands share with it.
package scheduler

import (
	"fmt"
	"time"
)

// DefaultAt is when a chat subscribed without a time gets its summary.
const DefaultAt = "09:00"

// Day is the local day of t in loc as the store keys pushes and statistics.
func Day(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.DateOnly) }

// scheduledOn is the moment a summary set for hhmm ("HH:MM") falls on the local day
// of day. A time a daylight saving change skips still falls on that day: time.Date
// reads it with one of the day's two offsets.
func scheduledOn(day time.Time, hhmm string, loc *time.Location) (time.Time, error) {
	c, err := time.Parse("15:04", hhmm)
	if err != nil {
		return time.Time{}, fmt.Errorf("subscription time %q is not HH:MM", hhmm)
	}
	d := day.In(loc)
	return time.Date(d.Year(), d.Month(), d.Day(), c.Hour(), c.Minute(), 0, 0, loc), nil
}

// NextRun is when a chat subscribed at hhmm gets its next summary: today at that
// time if it is still ahead and today's summary has not been sent, else tomorrow.
func NextRun(hhmm string, now time.Time, loc *time.Location, sentToday bool) (time.Time, error) {
	today, err := scheduledOn(now, hhmm, loc)
	if err != nil {
		return time.Time{}, err
	}
	if today.After(now) && !sentToday {
		return today, nil
	}
	d := now.In(loc)
	return scheduledOn(time.Date(d.Year(), d.Month(), d.Day()+1, 12, 0, 0, 0, loc), hhmm, loc)
}
