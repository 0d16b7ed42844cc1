package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestClaimReminder(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const (
		claim = iota
		sent  // MarkReminderSent
		release
	)
	// Steps run in order against one store; now is injected.
	for _, tc := range []struct {
		name   string
		op     int
		user   string
		round  string
		at     time.Duration // after t0
		wantOK bool
	}{
		{"first reminder", claim, "ou_a", "r1", 0, true},
		{"it went out", sent, "ou_a", "", 0, false},
		{"an hour later, another round", claim, "ou_a", "r2", time.Hour, false},
		{"an hour later, the same round", claim, "ou_a", "r1", time.Hour, false},
		{"a minute short of 24 h", claim, "ou_a", "r2", 24*time.Hour - time.Minute, false},
		{"another person meanwhile", claim, "ou_b", "r2", time.Hour, true},
		{"exactly 24 h later", claim, "ou_a", "r3", 24 * time.Hour, true},
		{"the second went out", sent, "ou_a", "", 0, false},
		{"right after the second", claim, "ou_a", "r4", 24*time.Hour + time.Minute, false},
		{"clock stepped back", claim, "ou_a", "r4", -time.Hour, false},
		{"the send failed: release", release, "ou_b", "", 2 * time.Hour, false},
		{"retry after the release", claim, "ou_b", "r5", 2*time.Hour + time.Minute, true},
		{"the retry went out", sent, "ou_b", "", 0, false},
		{"and not again for 24 h", claim, "ou_b", "r6", 3 * time.Hour, false},
		{"release of a person never claimed", release, "ou_z", "", 0, false},
		// A crash between the claim and the send: the round resumes and sends it
		// (under the same uuid); no other round may.
		{"a round cut short before the send", claim, "ou_c", "r7", 0, true},
		{"another round meanwhile", claim, "ou_c", "r8", time.Minute, false},
		{"the round resumed", claim, "ou_c", "r7", 2 * time.Minute, true},
		{"its resend went out", sent, "ou_c", "", 0, false},
		{"resumed once more", claim, "ou_c", "r7", 3 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			switch tc.op {
			case sent:
				err = s.MarkReminderSent(ctx, tc.user)
			case release:
				err = s.ReleaseReminder(ctx, tc.user)
			default:
				var ok bool
				ok, err = s.ClaimReminder(ctx, tc.user, tc.round, t0.Add(tc.at))
				if ok != tc.wantOK {
					t.Errorf("ClaimReminder(%s, %s, t0%+v) = %v, want %v", tc.user, tc.round, tc.at, ok, tc.wantOK)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("concurrent rounds", func(t *testing.T) {
		if got := countWins(t, 20, func(i int) (bool, error) {
			return s.ClaimReminder(ctx, "ou_race", fmt.Sprintf("round-%d", i), t0)
		}); got != 1 {
			t.Errorf("%d claims won, want 1", got)
		}
	})
	t.Run("empty user or round", func(t *testing.T) {
		if _, err := s.ClaimReminder(ctx, "", "r1", t0); err == nil {
			t.Error("ClaimReminder with no user succeeded")
		}
		if _, err := s.ClaimReminder(ctx, "ou_a", "", t0); err == nil {
			t.Error("ClaimReminder with no round succeeded")
		}
	})
}

// A person claimed before reminders knew their round counts as reminded: the
// migration's column defaults, which old rows take, say sent.
func TestReminderClaimsFromBeforeRoundsCountAsSent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.w.Exec(`INSERT INTO reminders (user_id, at) VALUES ('ou_old', ?)`, t0.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ClaimReminder(ctx, "ou_old", "r1", t0.Add(time.Hour)); err != nil || ok {
		t.Errorf("a round claimed a person reminded before the upgrade: %v, %v", ok, err)
	}
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
