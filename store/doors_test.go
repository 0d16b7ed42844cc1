package store

import (
	"context"
	"testing"
	"time"

	"acsbot/doors"
)

func rec(id, user, device string, at time.Time, open, clock bool) doors.DayRecord {
	return doors.DayRecord{Record: doors.Record{ID: id, UserID: user, DeviceID: device, At: at, DoorOpen: open, ClockIn: clock},
		Day: at.UTC().Format(time.DateOnly)}
}

func TestDoorRecordsStoredOnceAndCounted(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	batch := []doors.DayRecord{
		rec("r1", "ou_a", "d1", t0, true, false),
		rec("r2", "ou_a", "d2", t0.Add(time.Hour), false, true),
		rec("r3", "ou_b", "d1", t0.Add(2*time.Hour), true, true),
	}
	if n, err := s.AddRecords(ctx, batch); err != nil || n != 3 {
		t.Fatalf("first add: %d, %v", n, err)
	}
	// The same records again, as a re-delivered event or a read of the day brings them.
	if n, err := s.AddRecords(ctx, batch); err != nil || n != 0 {
		t.Fatalf("second add: %d new, %v; want 0", n, err)
	}
	got, err := s.DayCounts(ctx, "2026-11-25")
	if err != nil {
		t.Fatal(err)
	}
	want := []doors.DoorDay{{DeviceID: "d1", Opened: 2}, {DeviceID: "d2", ClockOnly: 1}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	recs, err := s.PersonRecords(ctx, "ou_a", t0, t0.Add(24*time.Hour))
	if err != nil || len(recs) != 2 || recs[0].ID != "r1" || !recs[0].DoorOpen || recs[1].DoorOpen || !recs[1].ClockIn {
		t.Errorf("person records = %+v, %v", recs, err)
	}
	last, err := s.LastOpened(ctx)
	if err != nil || !last["d1"].Equal(t0.Add(2*time.Hour)) || !last["d2"].IsZero() {
		t.Errorf("last opened = %v, %v", last, err)
	}
}

func TestDoorDaysCompleteAndPruned(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	old := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	recent := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	if _, err := s.AddRecords(ctx, []doors.DayRecord{rec("old", "ou_a", "d1", old, true, false), rec("new", "ou_a", "d1", recent, true, false)}); err != nil {
		t.Fatal(err)
	}
	for _, day := range []string{"2026-10-01", "2026-11-25"} {
		if err := s.MarkDayComplete(ctx, day, "read", recent); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PruneRecords(ctx, recent.Add(-31*24*time.Hour), "2026-10-25"); err != nil {
		t.Fatal(err)
	}
	if recs, _ := s.PersonRecords(ctx, "ou_a", old.Add(-time.Hour), recent.Add(time.Hour)); len(recs) != 1 || recs[0].ID != "new" {
		t.Errorf("after prune: %+v", recs)
	}
	if c, _ := s.DayCounts(ctx, "2026-10-01"); len(c) != 0 {
		t.Errorf("old counts kept: %+v", c)
	}
	for day, want := range map[string]bool{"2026-10-01": false, "2026-11-25": true, "2026-11-24": false} {
		if got, err := s.DayComplete(ctx, day); err != nil || got != want {
			t.Errorf("DayComplete(%s) = %v, %v; want %v", day, got, err, want)
		}
	}
}
