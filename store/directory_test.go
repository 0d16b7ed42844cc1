package store

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"acsbot/acs"
)

// loadDirectory loads the stored directory with its users in ID order.
func loadDirectory(t *testing.T, s *Store) (acs.StoredDirectory, bool) {
	t.Helper()
	d, ok, err := s.LoadDirectory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(d.Users, func(a, b acs.User) int { return strings.Compare(a.ID, b.ID) })
	return d, ok
}

func TestDirectorySurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "acsbot.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := loadDirectory(t, s); ok {
		t.Fatal("a new store holds a directory")
	}
	takenAt := time.Date(2026, 3, 1, 9, 0, 0, 123_456_789, time.UTC)
	want := acs.StoredDirectory{UserIDType: "union_id", TakenAt: takenAt, EventsMissing: true,
		Users: []acs.User{{ID: "on_a", Card: 123456, FaceUploaded: true}, {ID: "on_b"}, {ID: "on_c", Card: 99999999}}}
	if err := s.SaveDirectory(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok := loadDirectory(t, s)
	if !ok {
		t.Fatal("the directory did not survive a reopen")
	}
	if !got.TakenAt.Equal(takenAt.Truncate(time.Millisecond)) {
		t.Errorf("taken at %v, want %v to the millisecond", got.TakenAt, takenAt)
	}
	if got.UserIDType != want.UserIDType || got.EventsMissing != want.EventsMissing || !slices.Equal(got.Users, want.Users) {
		t.Errorf("loaded %+v, want %+v", got, want)
	}
}

func TestDirectoryChanges(t *testing.T) {
	ctx := context.Background()
	t0 := time.UnixMilli(1_770_000_000_000)
	base := acs.StoredDirectory{UserIDType: "open_id", TakenAt: t0,
		Users: []acs.User{{ID: "ou_a", Card: 1, FaceUploaded: true}, {ID: "ou_b", Card: 2}}}
	tests := []struct {
		name   string
		change func(s *Store) error
		want   acs.StoredDirectory
	}{
		{"a full read replaces every user and the time", func(s *Store) error {
			return s.SaveDirectory(ctx, acs.StoredDirectory{UserIDType: "open_id", TakenAt: t0.Add(time.Hour),
				Users: []acs.User{{ID: "ou_b", Card: 3}, {ID: "ou_c"}}})
		}, acs.StoredDirectory{UserIDType: "open_id", TakenAt: t0.Add(time.Hour),
			Users: []acs.User{{ID: "ou_b", Card: 3}, {ID: "ou_c"}}}},
		{"a full read of nobody", func(s *Store) error {
			return s.SaveDirectory(ctx, acs.StoredDirectory{UserIDType: "open_id", TakenAt: t0.Add(time.Hour)})
		}, acs.StoredDirectory{UserIDType: "open_id", TakenAt: t0.Add(time.Hour)}},
		{"an update changes one user and keeps the time", func(s *Store) error {
			return s.SaveDirectoryUser(ctx, acs.User{ID: "ou_b", Card: 2, FaceUploaded: true})
		}, acs.StoredDirectory{UserIDType: "open_id", TakenAt: t0,
			Users: []acs.User{{ID: "ou_a", Card: 1, FaceUploaded: true}, {ID: "ou_b", Card: 2, FaceUploaded: true}}}},
		{"a fetched user is added", func(s *Store) error {
			return s.SaveDirectoryUser(ctx, acs.User{ID: "ou_0", Card: 7})
		}, acs.StoredDirectory{UserIDType: "open_id", TakenAt: t0,
			Users: []acs.User{{ID: "ou_0", Card: 7}, {ID: "ou_a", Card: 1, FaceUploaded: true}, {ID: "ou_b", Card: 2}}}},
		{"events missing, then back", func(s *Store) error {
			if err := s.SetEventsMissing(ctx, true); err != nil {
				return err
			}
			if d, _ := loadDirectory(t, s); !d.EventsMissing {
				t.Error("SetEventsMissing(true) did not stick")
			}
			return s.SetEventsMissing(ctx, false)
		}, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			if err := s.SaveDirectory(ctx, base); err != nil {
				t.Fatal(err)
			}
			if err := tt.change(s); err != nil {
				t.Fatal(err)
			}
			got, ok := loadDirectory(t, s)
			if !ok || got.UserIDType != tt.want.UserIDType || !got.TakenAt.Equal(tt.want.TakenAt) ||
				got.EventsMissing != tt.want.EventsMissing || !slices.Equal(got.Users, tt.want.Users) {
				t.Errorf("stored %+v (%v), want %+v", got, ok, tt.want)
			}
		})
	}
}

func TestDirectoryRejects(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	good := acs.StoredDirectory{UserIDType: "open_id", TakenAt: time.UnixMilli(1_770_000_000_000), Users: []acs.User{{ID: "ou_a"}}}
	if err := s.SaveDirectory(ctx, good); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"no id type", func() error {
			return s.SaveDirectory(ctx, acs.StoredDirectory{TakenAt: good.TakenAt, Users: []acs.User{{ID: "ou_b"}}})
		}},
		{"a user without an id in a full read", func() error {
			return s.SaveDirectory(ctx, acs.StoredDirectory{UserIDType: "open_id", TakenAt: good.TakenAt, Users: []acs.User{{ID: "ou_b"}, {Card: 1}}})
		}},
		{"an update without an id", func() error { return s.SaveDirectoryUser(ctx, acs.User{Card: 1}) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Fatal("accepted")
			}
			if got, _ := loadDirectory(t, s); !slices.Equal(got.Users, good.Users) {
				t.Errorf("a rejected save changed the stored users: %+v", got.Users)
			}
		})
	}
}

// Without a stored snapshot there is nothing to mark: SetEventsMissing succeeds and
// stores nothing, so a later load still finds no directory.
func TestSetEventsMissingWithoutDirectory(t *testing.T) {
	s := openTest(t)
	if err := s.SetEventsMissing(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if _, ok := loadDirectory(t, s); ok {
		t.Error("SetEventsMissing made up a directory")
	}
}
