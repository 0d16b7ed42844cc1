package scheduler

import (
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestNextRun(t *testing.T) {
	sh := mustLoad(t, "Asia/Shanghai")
	ny := mustLoad(t, "America/New_York")
	local := func(loc *time.Location, s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		name      string
		at        string
		now       time.Time
		loc       *time.Location
		sentToday bool
		want      time.Time
	}{
		{"later today", "09:00", local(sh, "2026-11-25 08:00"), sh, false, local(sh, "2026-11-25 09:00")},
		{"already past today", "09:00", local(sh, "2026-11-25 10:00"), sh, false, local(sh, "2026-11-26 09:00")},
		{"at this very minute counts as past", "09:00", local(sh, "2026-11-25 09:00"), sh, false, local(sh, "2026-11-26 09:00")},
		{"later today but sent already", "18:00", local(sh, "2026-11-25 10:00"), sh, true, local(sh, "2026-11-26 18:00")},
		{"across a month end", "07:00", local(sh, "2026-11-30 23:00"), sh, false, local(sh, "2026-12-01 07:00")},
		// UTC 20:00 is 04:00 the next local day in Shanghai.
		{"now given in another zone", "09:00", time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC), sh, false, local(sh, "2026-11-26 09:00")},
		// 2026-03-08 02:30 does not exist in New York: clocks jump from 02:00 to 03:00.
		// time.Date reads it with the offset before the jump, as 01:30 EST.
		{"a time skipped by daylight saving still comes that day", "02:30", local(ny, "2026-03-08 01:00"), ny, false,
			time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC)},
		{"the day after a daylight saving change", "09:00", local(ny, "2026-03-07 10:00"), ny, false, local(ny, "2026-03-08 09:00")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := NextRun(c.at, c.now, c.loc, c.sentToday)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(c.want) {
				t.Fatalf("NextRun(%s, %s) = %s, want %s", c.at, c.now, got, c.want)
			}
		})
	}
	if _, err := NextRun("9am", time.Now(), sh, false); err == nil {
		t.Fatal("NextRun accepted a time that is not HH:MM")
	}
}

func TestDay(t *testing.T) {
	sh := mustLoad(t, "Asia/Shanghai")
	cases := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 25, 15, 59, 0, 0, time.UTC), "2026-11-25"},
		{time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC), "2026-11-26"},
	}
	for _, c := range cases {
		t.Run(c.at.String(), func(t *testing.T) {
			if got := Day(c.at, sh); got != c.want {
				t.Fatalf("Day(%s) = %s, want %s", c.at, got, c.want)
			}
		})
	}
}
