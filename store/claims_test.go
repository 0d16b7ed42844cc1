package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestClaimReminder(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	// Steps run in order against one store; now is injected.
	for _, tc := range []struct {
		name    string
		user    string
		at      time.Duration // after t0
		release bool          // ReleaseReminder instead of a claim
		wantOK  bool
	}{
		{"first reminder", "ou_a", 0, false, true},
		{"an hour later", "ou_a", time.Hour, false, false},
		{"a minute short of 24 h", "ou_a", 24*time.Hour - time.Minute, false, false},
		{"another person meanwhile", "ou_b", time.Hour, false, true},
		{"exactly 24 h later", "ou_a", 24 * time.Hour, false, true},
		{"right after the second", "ou_a", 24*time.Hour + time.Minute, false, false},
		{"clock stepped back", "ou_a", -time.Hour, false, false},
		{"the send failed: release", "ou_b", 2 * time.Hour, true, false},
		{"retry after the release", "ou_b", 2*time.Hour + time.Minute, false, true},
		{"and not again for 24 h", "ou_b", 3 * time.Hour, false, false},
		{"release of a person never claimed", "ou_z", 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.release {
				if err := s.ReleaseReminder(ctx, tc.user); err != nil {
					t.Fatal(err)
				}
				return
			}
			ok, err := s.ClaimReminder(ctx, tc.user, t0.Add(tc.at))
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK {
				t.Errorf("ClaimReminder(%s, t0%+v) = %v, want %v", tc.user, tc.at, ok, tc.wantOK)
			}
		})
	}

	t.Run("concurrent claims", func(t *testing.T) {
		if got := countWins(t, 20, func(int) (bool, error) {
			return s.ClaimReminder(ctx, "ou_race", t0)
		}); got != 1 {
			t.Errorf("%d claims won, want 1", got)
		}
	})
	t.Run("empty user", func(t *testing.T) {
		if _, err := s.ClaimReminder(ctx, "", t0); err == nil {
			t.Error("ClaimReminder with no user succeeded")
		}
	})
}

func TestClaimAction(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "acsbot.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		id     string
		wantOK bool
	}{
		{"first click", "remind-noface-1", true},
		{"second click", "remind-noface-1", false},
		{"another card", "remind-noface-2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := s.ClaimAction(ctx, tc.id, t0, nil)
			if err != nil || ok != tc.wantOK {
				t.Errorf("ClaimAction(%q) = %v, %v; want %v", tc.id, ok, err, tc.wantOK)
			}
		})
	}
	t.Run("concurrent clicks", func(t *testing.T) {
		if got := countWins(t, 20, func(int) (bool, error) {
			return s.ClaimAction(ctx, "remind-noface-3", t0, nil)
		}); got != 1 {
			t.Errorf("%d clicks won, want 1", got)
		}
	})
	t.Run("empty id", func(t *testing.T) {
		if _, err := s.ClaimAction(ctx, "", t0, nil); err == nil {
			t.Error("ClaimAction with no id succeeded")
		}
	})
	t.Run("a click after a restart", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(path)
		if err != nil {
			t.Fatal(err)
		}
		ok, err := s.ClaimAction(ctx, "remind-noface-1", t0.Add(72*time.Hour), nil)
		if err != nil || ok {
			t.Errorf("ClaimAction after reopen = %v, %v; want false", ok, err)
		}
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// countWins runs claim(0) to claim(n-1) at once and returns how many returned true.
// The work a claimed action starts is recorded with the claim or not at all: a
// crash can no longer leave a confirm card spent with no round to run.
func TestClaimActionRecordsItsWork(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	work := func(key string) *Work { return &Work{Key: key, Kind: "remind", Payload: []byte(`{}`)} }
	for _, tc := range []struct {
		name, id string
		work     *Work
		wantOK   bool
		wantErr  bool
	}{
		{"Send", "card-1", work("remind:card-1"), true, false},
		{"Send again", "card-1", work("remind:card-1-again"), false, false},
		{"Cancel", "card-2", nil, true, false},
		{"Send after Cancel", "card-2", work("remind:card-2"), false, false},
		{"a record that fails (no payload)", "card-3", &Work{Key: "remind:card-3", Kind: "remind"}, false, true},
		{"took the claim back with it", "card-3", work("remind:card-3"), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := s.ClaimAction(ctx, tc.id, t0, tc.work)
			if ok != tc.wantOK || (err != nil) != tc.wantErr {
				t.Errorf("ClaimAction(%q) = %v, %v; want %v (error: %v)", tc.id, ok, err, tc.wantOK, tc.wantErr)
			}
		})
	}
	pending, err := s.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range pending {
		keys = append(keys, e.Kind+" "+e.Key)
	}
	if want := []string{"remind remind:card-1", "remind remind:card-3"}; !slices.Equal(keys, want) {
		t.Errorf("recorded work %q, want %q", keys, want)
	}
}

func countWins(t *testing.T, n int, claim func(i int) (bool, error)) int {
	t.Helper()
	var wg sync.WaitGroup
	oks := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			oks[i], errs[i] = claim(i)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	won := 0
	for _, ok := range oks {
		if ok {
			won++
		}
	}
	return won
}
