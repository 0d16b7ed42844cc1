package acs

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Snapshot is the directory as one scan (plus any updates since) saw it. It is
// immutable once published, so readers need no lock: an update publishes a copy.
//
// Layout is chosen for 100,000+ users: one slice of users sorted by ID (binary search
// for ByID, about 32 bytes a user plus the ID's bytes) and one int32 index of the
// users with a card, sorted by card number. No per-user maps or pointers.
type Snapshot struct {
	// TakenAt is when the scan that produced this snapshot started: the oldest any of
	// its data can be.
	TakenAt time.Time

	users  []User  // sorted by ID, IDs unique
	byCard []int32 // positions in users of users with a card, sorted by (card, ID)
	stats  Stats
}

// newSnapshot builds a snapshot from users in any order; it sorts users in place. A
// user listed twice (the data changed mid-scan) keeps its last entry: later pages
// were read later.
func newSnapshot(takenAt time.Time, users []User) *Snapshot {
	slices.SortStableFunc(users, func(a, b User) int { return strings.Compare(a.ID, b.ID) })
	n := 0
	for i := range users {
		if n > 0 && users[n-1].ID == users[i].ID {
			users[n-1] = users[i]
			continue
		}
		users[n] = users[i]
		n++
	}
	// An exact-size copy: the scan's append slack would otherwise stay reachable.
	exact := make([]User, n)
	copy(exact, users[:n])
	s := &Snapshot{TakenAt: takenAt, users: exact}
	s.index()
	return s
}

// index derives byCard and stats from users.
func (s *Snapshot) index() {
	st := Stats{Total: len(s.users)}
	withCard := 0
	for _, u := range s.users {
		if u.FaceUploaded {
			st.WithFace++
		}
		if u.HasCard() {
			withCard++
		}
	}
	st.NoFace = st.Total - st.WithFace
	st.NoCard = st.Total - withCard
	s.stats = st
	s.byCard = make([]int32, 0, withCard)
	for i, u := range s.users {
		if u.HasCard() {
			s.byCard = append(s.byCard, int32(i))
		}
	}
	// users is sorted by ID, so a stable sort by card keeps ties in ID order.
	slices.SortStableFunc(s.byCard, func(a, b int32) int { return cmp.Compare(s.users[a].Card, s.users[b].Card) })
}

// Len is the number of users.
func (s *Snapshot) Len() int { return len(s.users) }

// NoFace lists the users without a face photo, in ID order. The slice is the
// caller's to keep or change.
func (s *Snapshot) NoFace() []User {
	return s.filter(s.stats.NoFace, func(u User) bool { return !u.FaceUploaded })
}

// NoCard lists the users without an access card, in ID order. The slice is the
// caller's to keep or change.
func (s *Snapshot) NoCard() []User {
	return s.filter(s.stats.NoCard, func(u User) bool { return !u.HasCard() })
}

func (s *Snapshot) filter(n int, keep func(User) bool) []User {
	out := make([]User, 0, n)
	for _, u := range s.users {
		if keep(u) {
			out = append(out, u)
		}
	}
	return out
}

// ByID finds a user by ID (in the directory's user_id_type).
func (s *Snapshot) ByID(id string) (User, bool) {
	i, ok := s.find(id)
	if !ok {
		return User{}, false
	}
	return s.users[i], true
}

func (s *Snapshot) find(id string) (int, bool) {
	return slices.BinarySearchFunc(s.users, id, func(u User, id string) int { return strings.Compare(u.ID, id) })
}

// ByCard lists the users holding card number card, in ID order (one card may be
// given to several people by mistake; admins want to see that). Card 0 means "no
// card" and matches nobody.
func (s *Snapshot) ByCard(card int) []User {
	if card == 0 {
		return nil
	}
	lo, _ := slices.BinarySearchFunc(s.byCard, card, func(i int32, c int) int { return cmp.Compare(s.users[i].Card, c) })
	var out []User
	for _, i := range s.byCard[lo:] {
		if s.users[i].Card != card {
			break
		}
		out = append(out, s.users[i])
	}
	return out
}

// Stats are the totals.
func (s *Snapshot) Stats() Stats { return s.stats }

// Age is how old the snapshot's data is at now.
func (s *Snapshot) Age(now time.Time) time.Duration {
	return max(now.Sub(s.TakenAt), 0)
}

// withUpdate is a copy of s with user i's card and face flag replaced where given.
// The users slice is copied (the ID strings are shared; strings are immutable), so
// whoever holds s keeps seeing the old values.
func (s *Snapshot) withUpdate(i int, card *int, faceUploaded *bool) *Snapshot {
	users := slices.Clone(s.users)
	if card != nil {
		users[i].Card = *card
	}
	if faceUploaded != nil {
		users[i].FaceUploaded = *faceUploaded
	}
	ns := &Snapshot{TakenAt: s.TakenAt, users: users}
	if card == nil || *card == s.users[i].Card {
		// The card index holds positions, which did not move: share it.
		ns.byCard = s.byCard
		ns.stats = s.stats
		ns.stats.WithFace += boolInt(users[i].FaceUploaded) - boolInt(s.users[i].FaceUploaded)
		ns.stats.NoFace = ns.stats.Total - ns.stats.WithFace
		return ns
	}
	ns.index()
	return ns
}

// withUser is a copy of s with u added, or with u's values if s has u's ID.
func (s *Snapshot) withUser(u User) *Snapshot {
	i, ok := s.find(u.ID)
	if ok {
		return s.withUpdate(i, &u.Card, &u.FaceUploaded)
	}
	users := make([]User, 0, len(s.users)+1)
	users = append(append(append(users, s.users[:i]...), u), s.users[i:]...)
	ns := &Snapshot{TakenAt: s.TakenAt, users: users}
	ns.index()
	return ns
}

// changedFrom counts the users s and old both hold whose card or face flag differ.
// Users only one of them holds are not counted: acs.user.updated_v1 reports changed
// feature values (feishu-platform.md §6.1), not who joined or left a permission group.
func (s *Snapshot) changedFrom(old *Snapshot) int {
	n := 0
	for i, j := 0, 0; i < len(s.users) && j < len(old.users); {
		switch c := strings.Compare(s.users[i].ID, old.users[j].ID); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			if s.users[i] != old.users[j] {
				n++
			}
			i++
			j++
		}
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
