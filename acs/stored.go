package acs

import (
	"context"
	"time"
)

// SnapshotStore keeps the directory across restarts; store.Store is the one the bot
// uses. The directory writes every change it publishes through it, so a restart
// loads what was served last.
type SnapshotStore interface {
	// LoadDirectory returns the stored snapshot; ok is false when none is stored.
	LoadDirectory(ctx context.Context) (d StoredDirectory, ok bool, err error)
	// SaveDirectory replaces the stored snapshot with a full read's result.
	SaveDirectory(ctx context.Context, d StoredDirectory) error
	// SaveDirectoryUser adds or changes one user, keeping the snapshot's taken-at time.
	SaveDirectoryUser(ctx context.Context, u User) error
	// SetEventsMissing records whether update events seem not to arrive.
	SetEventsMissing(ctx context.Context, missing bool) error
}

// StoredDirectory is a snapshot as a SnapshotStore keeps it.
type StoredDirectory struct {
	// UserIDType is the id type of Users: a snapshot of another type than
	// acs.user_id_type names other ids, so it is not used.
	UserIDType string
	// TakenAt is when the full read began: the oldest any of the data can be.
	TakenAt time.Time
	// EventsMissing: a full read found changes no update event announced.
	EventsMissing bool
	Users         []User
}
