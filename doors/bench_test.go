package doors_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"acsbot/cards"
	"acsbot/command"
	"acsbot/doors"
	"acsbot/store"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

const (
	benchDay     = "2026-11-25"
	benchRecords = 100_000
	benchDoors   = 12
	benchPeople  = 5_000
)

// fillDay stores n records of benchDay as a read of the day does, 500 a page: every
// person passes through the doors several times, one record in ten a clock-in.
func fillDay(tb testing.TB, st *store.Store, n int) {
	tb.Helper()
	start, _ := time.ParseInLocation(time.DateOnly, benchDay, shanghai)
	page := make([]doors.DayRecord, 0, 500)
	for i := range n {
		page = append(page, doors.DayRecord{Day: benchDay, Record: doors.Record{
			ID:       fmt.Sprintf("69394332289700%05d", i),
			UserID:   fmt.Sprintf("ou_%032x", i%benchPeople),
			DeviceID: fmt.Sprintf("d_%02d", i%benchDoors),
			At:       start.Add(time.Duration(i) * 24 * time.Hour / time.Duration(n)),
			DoorOpen: i%10 != 0,
			ClockIn:  i%10 == 0,
		}})
		if len(page) == cap(page) || i == n-1 {
			if _, err := st.AddRecords(context.Background(), page); err != nil {
				tb.Fatal(err)
			}
			page = page[:0]
		}
	}
}

// benchService is a door service on a store holding a whole day of n records, the
// day stored as read, so answers come from the store.
func benchService(b *testing.B, n int) (*doors.Service, map[string]string) {
	b.Helper()
	st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	fillDay(b, st, n)
	if err := st.MarkDayComplete(context.Background(), benchDay, "read", time.Now()); err != nil {
		b.Fatal(err)
	}
	now, _ := time.ParseInLocation(time.DateTime, benchDay+" 23:00:00", shanghai)
	svc := doors.New(nil, doors.Options{Store: st, Location: shanghai, Now: func() time.Time { return now }})
	names := map[string]string{}
	for i := range benchDoors {
		names[fmt.Sprintf("d_%02d", i)] = fmt.Sprintf("Door %d", i)
	}
	return svc, names
}

// BenchmarkAccessDay100k is /access for a day of 100,000 records: the query and the
// card, JSON included, in process.
func BenchmarkAccessDay100k(b *testing.B) {
	svc, names := benchService(b, benchRecords)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		counts, err := svc.DayCounts(ctx, benchDay)
		if err != nil || len(counts) != benchDoors {
			b.Fatalf("counts %d, %v", len(counts), err)
		}
		if _, err := cards.AccessDay(command.ZH, benchDay, counts, names, false).JSON(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAccessPerson100k is /access @someone on the same day: one person's 20
// records out of 100,000, and the card.
func BenchmarkAccessPerson100k(b *testing.B) {
	svc, names := benchService(b, benchRecords)
	ctx := context.Background()
	person := fmt.Sprintf("ou_%032x", 42)
	b.ResetTimer()
	for b.Loop() {
		recs, err := svc.Person(ctx, person, benchDay)
		if err != nil || len(recs) != benchRecords/benchPeople {
			b.Fatalf("records %d, %v", len(recs), err)
		}
		if _, err := cards.AccessPerson(command.ZH, shanghai, benchDay, person, recs, names).JSON(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoredBytesPerRecord stores 100,000 records (the time is for all of
// them) and reports how much the database file grew per record, indexes and day
// counts included. Closing the store folds its write-ahead log into the file.
func BenchmarkStoredBytesPerRecord(b *testing.B) {
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "size.db")
		before := sizeAfter(b, path, func(*store.Store) {})
		after := sizeAfter(b, path, func(st *store.Store) { fillDay(b, st, benchRecords) })
		b.ReportMetric(float64(after-before)/benchRecords, "bytes/record")
	}
}

// sizeAfter opens the store at path, runs fill, closes it and returns the file's size.
func sizeAfter(b *testing.B, path string, fill func(*store.Store)) int64 {
	b.Helper()
	st, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	fill(st)
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}
