package acs

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func ids(users []User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func TestSnapshotQueries(t *testing.T) {
	// Given out of order, with one user listed twice (the later entry wins) and one
	// card shared by two people.
	s := newSnapshot(t0, []User{
		{ID: "ou_d", Card: 0, FaceUploaded: true},
		{ID: "ou_b", Card: 2002, FaceUploaded: false},
		{ID: "ou_a", Card: 1001, FaceUploaded: true},
		{ID: "ou_c", Card: 0, FaceUploaded: false},
		{ID: "ou_e", Card: 2002, FaceUploaded: true},
		{ID: "ou_a", Card: 1001, FaceUploaded: false},
	})
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"len", s.Len(), 5},
		{"no face, in id order", ids(s.NoFace()), []string{"ou_a", "ou_b", "ou_c"}},
		{"no card, in id order", ids(s.NoCard()), []string{"ou_c", "ou_d"}},
		{"by card", ids(s.ByCard(1001)), []string{"ou_a"}},
		{"shared card", ids(s.ByCard(2002)), []string{"ou_b", "ou_e"}},
		{"unknown card", ids(s.ByCard(3003)), []string{}},
		{"card 0 is no card", s.ByCard(0), []User(nil)},
		{"stats", s.Stats(), Stats{Total: 5, WithFace: 2, NoFace: 3, NoCard: 2}},
		{"age", s.Age(t0.Add(90 * time.Second)), 90 * time.Second},
		{"age never negative", s.Age(t0.Add(-time.Minute)), time.Duration(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
	t.Run("by id", func(t *testing.T) {
		for _, id := range []string{"ou_a", "ou_b", "ou_c", "ou_d", "ou_e"} {
			if u, ok := s.ByID(id); !ok || u.ID != id {
				t.Errorf("ByID(%q) = %+v, %v", id, u, ok)
			}
		}
		if u, ok := s.ByID("ou_zz"); ok {
			t.Errorf("ByID(unknown) = %+v", u)
		}
	})
	t.Run("results are the caller's", func(t *testing.T) {
		nf := s.NoFace()
		nf[0].ID = "changed"
		if s.NoFace()[0].ID != "ou_a" {
			t.Error("changing NoFace's result changed the snapshot")
		}
	})
}

func TestWithUpdate(t *testing.T) {
	base := []User{{ID: "ou_a", Card: 1, FaceUploaded: true}, {ID: "ou_b", Card: 2}, {ID: "ou_c"}}
	card := func(n int) *int { return &n }
	face := func(b bool) *bool { return &b }
	tests := []struct {
		name      string
		id        string
		card      *int
		face      *bool
		want      User
		stats     Stats
		byCardOld int // card number that must no longer find the user (0: skip)
	}{
		{"face uploaded", "ou_b", nil, face(true), User{ID: "ou_b", Card: 2, FaceUploaded: true}, Stats{Total: 3, WithFace: 2, NoFace: 1, NoCard: 1}, 0},
		{"face removed", "ou_a", nil, face(false), User{ID: "ou_a", Card: 1}, Stats{Total: 3, WithFace: 0, NoFace: 3, NoCard: 1}, 0},
		{"new card", "ou_c", card(77), nil, User{ID: "ou_c", Card: 77}, Stats{Total: 3, WithFace: 1, NoFace: 2, NoCard: 0}, 0},
		{"card changed", "ou_a", card(9), nil, User{ID: "ou_a", Card: 9, FaceUploaded: true}, Stats{Total: 3, WithFace: 1, NoFace: 2, NoCard: 1}, 1},
		{"card taken away", "ou_b", card(0), face(true), User{ID: "ou_b", FaceUploaded: true}, Stats{Total: 3, WithFace: 2, NoFace: 1, NoCard: 2}, 2},
		{"nothing given", "ou_a", nil, nil, User{ID: "ou_a", Card: 1, FaceUploaded: true}, Stats{Total: 3, WithFace: 1, NoFace: 2, NoCard: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := newSnapshot(t0, slices.Clone(base))
			before := slices.Clone(old.users)
			i, ok := old.find(tt.id)
			if !ok {
				t.Fatalf("find(%q) failed", tt.id)
			}
			ns := old.withUpdate(i, tt.card, tt.face)
			if u, _ := ns.ByID(tt.id); u != tt.want {
				t.Errorf("updated user = %+v, want %+v", u, tt.want)
			}
			if ns.Stats() != tt.stats {
				t.Errorf("stats = %+v, want %+v", ns.Stats(), tt.stats)
			}
			if tt.want.Card != 0 && !slices.Contains(ids(ns.ByCard(tt.want.Card)), tt.id) {
				t.Errorf("ByCard(%d) misses %s", tt.want.Card, tt.id)
			}
			if tt.byCardOld != 0 && slices.Contains(ids(ns.ByCard(tt.byCardOld)), tt.id) {
				t.Errorf("ByCard(%d) still finds %s", tt.byCardOld, tt.id)
			}
			if !slices.Equal(old.users, before) {
				t.Errorf("the old snapshot changed: %+v", old.users)
			}
		})
	}
}

// makeUsers builds n users as a scan would: each ID its own string, as decoded JSON is.
func makeUsers(n int) []User {
	r := rand.New(rand.NewPCG(1, 2))
	users := make([]User, n)
	for i := range users {
		users[i] = User{ID: fmt.Sprintf("ou_%016x%016x", r.Uint64(), r.Uint64()), FaceUploaded: r.IntN(8) != 0}
		if r.IntN(12) != 0 {
			users[i].Card = 100000 + r.IntN(90000000)
		}
	}
	return users
}

// BenchmarkSnapshotQueries100k is what one /noface, /nocard or /stats answer costs
// at 100,000 users (target: well under 2 ms).
func BenchmarkSnapshotQueries100k(b *testing.B) {
	s := newSnapshot(t0, makeUsers(100_000))
	b.Run("NoFace+Stats", func(b *testing.B) {
		for b.Loop() {
			if len(s.NoFace()) != s.Stats().NoFace {
				b.Fatal("count mismatch")
			}
		}
	})
	b.Run("NoCard", func(b *testing.B) {
		for b.Loop() {
			_ = s.NoCard()
		}
	})
	b.Run("ByID+ByCard", func(b *testing.B) {
		u := s.users[len(s.users)/3]
		for b.Loop() {
			if _, ok := s.ByID(u.ID); !ok || (u.Card != 0 && len(s.ByCard(u.Card)) == 0) {
				b.Fatal("lookup failed")
			}
		}
	})
}

// BenchmarkSnapshotBytesPerUser reports the heap a 100,000-user snapshot keeps,
// IDs included, per user (target: < 150).
func BenchmarkSnapshotBytesPerUser(b *testing.B) {
	const n = 100_000
	var s *Snapshot
	for b.Loop() {
		var before, after runtime.MemStats
		s = nil // the previous round's snapshot must not count in "before"
		runtime.GC()
		runtime.ReadMemStats(&before)
		s = newSnapshot(t0, makeUsers(n))
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/user")
	}
	runtime.KeepAlive(s)
}

// BenchmarkSnapshotBuild100k is the cost of turning a scan's users into a snapshot.
func BenchmarkSnapshotBuild100k(b *testing.B) {
	users := makeUsers(100_000)
	for b.Loop() {
		_ = newSnapshot(t0, slices.Clone(users))
	}
}
