package demo

import (
	"context"
	"fmt"
	"time"

	"acsbot/acs"
	"acsbot/scheduler"
	"acsbot/store"
)

// historyDays is how many days before today a fresh demo store remembers: with
// today they fill the daily summary's 30-day chart.
const historyDays = 29

// seedHistory writes the totals of the days before today into a fresh demo store, as
// if the bot had run for a month while people uploaded face photos, so the first
// daily summary already has a trend to draw. Only a temporary store is seeded: a
// store the -config file names keeps its own history.
func seedHistory(ctx context.Context, path string, users []acs.User, loc *time.Location, now time.Time) error {
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	today := store.DayStats{Total: len(users)}
	for _, u := range users {
		if !u.FaceUploaded {
			today.NoFace++
		}
		if u.Card == 0 {
			today.NoCard++
		}
	}
	for back := historyDays; back >= 1; back-- {
		day := now.AddDate(0, 0, -back)
		// About six more people a day lacked a photo going back, give or take a
		// few, and a card now and then.
		noFace := min(today.Total, today.NoFace+back*6+(back*7)%5)
		noCard := min(today.Total, today.NoCard+back/3)
		ds := store.DayStats{Day: scheduler.Day(day, loc), Total: today.Total, WithFace: today.Total - noFace, NoFace: noFace, NoCard: noCard}
		if err := st.RecordDayStats(ctx, ds); err != nil {
			return fmt.Errorf("seed the demo's history for %s: %w", ds.Day, err)
		}
	}
	return nil
}
