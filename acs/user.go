// Package acs is the ACS directory: a paginator over the Feishu ACS user list, a
// snapshot of it kept in the store and current by update events, and the queries the
// bot answers from that snapshot.
package acs

// User is one ACS user as the list API returns it. The API carries no name: cards
// show people through Feishu's person components, which resolve the id themselves.
// Kept small on purpose: a snapshot of 100,000 users must stay under 150 bytes each.
type User struct {
	ID           string // in the id type of acs.user_id_type
	Card         int    // Wiegand card number; 0 means no card
	FaceUploaded bool
}

// HasCard reports whether the user has an access card number.
func (u User) HasCard() bool { return u.Card != 0 }

// Stats are the directory totals shown on the stats card.
type Stats struct {
	Total    int
	WithFace int
	NoFace   int
	NoCard   int
}
