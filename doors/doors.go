// Package doors is the bot's view of the access control devices and the records
// they make: the device list (one call serves everyone for a while), and the door
// records, which come from acs.access_record.created_v1 events and are kept in the
// store; a day the bot did not hear whole is read once from the access record list
// and remembered as read. Days are local days in push.timezone.
package doors

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"acsbot/feishu"
	"acsbot/metrics"
)

// Record is one door record: a device let someone in, took a clock-in, or both.
// Feishu records nothing else (no refusals).
type Record struct {
	ID       string // access_record_id
	UserID   string // in acs.user_id_type
	DeviceID string
	At       time.Time // to the second
	DoorOpen bool
	ClockIn  bool
}

// DoorDay is one device's records of one local day.
type DoorDay struct {
	DeviceID string
	// Opened counts the records that opened the door; ClockOnly the clock-ins
	// that opened none.
	Opened, ClockOnly int
}

// Store keeps door records and which days were read in full. Days are
// "YYYY-MM-DD" in the location the records' Day was computed in.
type Store interface {
	// AddRecords stores the records it does not hold yet, each under its day,
	// and reports how many were new. A record id seen before is skipped.
	AddRecords(ctx context.Context, recs []DayRecord) (int, error)
	// DayCounts are the day's records counted by device.
	DayCounts(ctx context.Context, day string) ([]DoorDay, error)
	// PersonRecords are userID's records in [from, to), oldest first.
	PersonRecords(ctx context.Context, userID string, from, to time.Time) ([]Record, error)
	// LastOpened is, per device, the last stored record that opened its door.
	LastOpened(ctx context.Context) (map[string]time.Time, error)
	// DayComplete reports whether the day's records are known to be all stored.
	DayComplete(ctx context.Context, day string) (bool, error)
	// MarkDayComplete records that the day's records are all stored: read from the
	// list ("read") or heard whole from events ("heard").
	MarkDayComplete(ctx context.Context, day, how string, at time.Time) error
	// PruneRecords deletes the records before t and the days before day.
	PruneRecords(ctx context.Context, t time.Time, day string) error
}

// DayRecord is a record with the local day it counts under.
type DayRecord struct {
	Record
	Day string
}

// Options configure a Service. Zero values get the defaults noted.
type Options struct {
	Store Store
	// Location is push.timezone: the days of records; nil means UTC.
	Location *time.Location
	// UserIDType is acs.user_id_type: the ids records are read and stored in.
	UserIDType string
	// DeviceTTL is how long one device list serves /doors; default 5 minutes.
	DeviceTTL   time.Duration
	CallTimeout time.Duration // bounds one ACS call; 0: only the client's timeout
	Retry       feishu.RetryPolicy
	Metrics     *metrics.Metrics // nil: counted in a private registry
	Logger      *slog.Logger     // nil: slog.Default()
	Now         func() time.Time // nil: time.Now
}

// Retention is how long records are kept: a month of /access, and a day more so
// the oldest day that may be asked for is whole.
const Retention = 31 * 24 * time.Hour

// MaxDaysBack is how far back /access may ask: the access record list takes spans
// of at most 30 days, and the store keeps 31.
const MaxDaysBack = 30

const (
	defaultDeviceTTL = 5 * time.Minute
	// storeTimeout bounds one store call made with no caller's deadline (an event).
	storeTimeout = 30 * time.Second
	// pruneEvery paces pruning, which housekeeping asks for every 30 s.
	pruneEvery = time.Hour
)

// Service answers questions about doors and records.
type Service struct {
	c  *feishu.Client
	o  Options
	up time.Time // when this process began to hear events: days after it are heard whole

	devices singleflight.Group
	reads   singleflight.Group

	mu         sync.Mutex
	list       *DeviceList // the latest device list; nil before the first read
	daily      *DeviceList // the list the day's summaries share
	lastPruned time.Time
	marked     string // the last day Tidy stored as heard whole
}

// New builds a service on c. It starts hearing events now: days that began
// before now are read from Feishu when first asked for, unless stored as whole.
func New(c *feishu.Client, o Options) *Service {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.UserIDType == "" {
		o.UserIDType = "open_id"
	}
	if o.DeviceTTL <= 0 {
		o.DeviceTTL = defaultDeviceTTL
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{c: c, o: o, up: o.Now()}
}

// Location is the location days are read in.
func (s *Service) Location() *time.Location { return s.o.Location }

// Day is t's local day, "YYYY-MM-DD".
func (s *Service) Day(t time.Time) string { return t.In(s.o.Location).Format(time.DateOnly) }

// bounds is the start and end of a local day.
func (s *Service) bounds(day string) (time.Time, time.Time, error) {
	start, err := time.ParseInLocation(time.DateOnly, day, s.o.Location)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return start, start.AddDate(0, 0, 1), nil
}
