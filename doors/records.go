package doors

import (
	"context"
	"fmt"
	"strconv"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"

	"acsbot/feishu"
)

const (
	// recordPageSize is the access record list's maximum.
	recordPageSize = 500
	// maxRestarts bounds the reads of a day started over after 1490018.
	maxRestarts = 3
	// maxPages stops a read of a server that never says has_more=false: 500 a
	// page, far more records than any day of any company.
	maxPages = 10000
)

// Add stores a record an event brought; a record id stored before is skipped,
// however many times Feishu delivers it.
func (s *Service) Add(ctx context.Context, r Record) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	_, err := s.o.Store.AddRecords(ctx, []DayRecord{{Record: r, Day: s.Day(r.At)}})
	if err != nil {
		s.o.Metrics.StoreErrors.WithLabelValues("door record").Inc()
		return fmt.Errorf("store door record %s: %w", r.ID, err)
	}
	return nil
}

// DayCounts are day's records counted by device, the day read from Feishu first
// if the bot did not hear it whole.
func (s *Service) DayCounts(ctx context.Context, day string) ([]DoorDay, error) {
	if err := s.ensure(ctx, day); err != nil {
		return nil, err
	}
	return s.o.Store.DayCounts(ctx, day)
}

// Person is userID's records of day, oldest first, the day read from Feishu first
// if the bot did not hear it whole.
func (s *Service) Person(ctx context.Context, userID, day string) ([]Record, error) {
	start, end, err := s.bounds(day)
	if err != nil {
		return nil, err
	}
	if err := s.ensure(ctx, day); err != nil {
		return nil, err
	}
	return s.o.Store.PersonRecords(ctx, userID, start, end)
}

// LastOpened is, per device, the last stored record that opened its door.
func (s *Service) LastOpened(ctx context.Context) (map[string]time.Time, error) {
	return s.o.Store.LastOpened(ctx)
}

// ensure makes sure every record of day is stored. A day this process heard from
// its start is whole; so is one stored as whole; any other is read from the access
// record list once, merged with what events brought (before and during the read),
// and stored as whole, never to be read again.
func (s *Service) ensure(ctx context.Context, day string) error {
	start, end, err := s.bounds(day)
	if err != nil {
		return err
	}
	now := s.o.Now()
	if !s.up.After(start) {
		if !now.Before(end) {
			s.markHeard(ctx, day)
		}
		return nil
	}
	if done, err := s.o.Store.DayComplete(ctx, day); err != nil || done {
		return err
	}
	_, err, _ = s.reads.Do(day, func() (any, error) {
		// Asked again while the last read finished: that read did it.
		if done, err := s.o.Store.DayComplete(ctx, day); err != nil || done {
			return nil, err
		}
		to := end
		if now.Before(end) {
			to = now // today: events bring the rest
		}
		n, err := s.read(ctx, start, to)
		if err != nil {
			return nil, err
		}
		s.o.Logger.InfoContext(ctx, "read a day of door records the bot did not hear whole", "day", day, "new_records", n)
		return nil, s.o.Store.MarkDayComplete(ctx, day, "read", s.o.Now())
	})
	return err
}

// markHeard stores a day this process heard whole as whole, so the process after
// a restart does not read it; failing costs that one read, so it is only logged.
func (s *Service) markHeard(ctx context.Context, day string) {
	if err := s.o.Store.MarkDayComplete(ctx, day, "heard", s.o.Now()); err != nil {
		s.o.Metrics.StoreErrors.WithLabelValues("door day").Inc()
		s.o.Logger.WarnContext(ctx, "could not store a day of door records as whole", "day", day, "err", err)
	}
}

// read stores every record of [from, to) from the access record list and reports
// how many were new. It starts over from the first page when Feishu says a page
// token is no longer valid; the records stored before are skipped as seen.
func (s *Service) read(ctx context.Context, from, to time.Time) (int, error) {
	for restarts := 0; ; restarts++ {
		n, err := s.walk(ctx, from, to)
		if err == nil || feishu.ClassOf(err) != feishu.InvalidPageToken {
			return n, err
		}
		if restarts >= maxRestarts {
			return n, fmt.Errorf("read door records: page token rejected %d times, giving up: %w", restarts+1, err)
		}
	}
}

func (s *Service) walk(ctx context.Context, from, to time.Time) (int, error) {
	added := 0
	token := ""
	for page := 1; ; page++ {
		if page > maxPages {
			return added, fmt.Errorf("read door records: more than %d pages, the server seems to loop", maxPages)
		}
		op := fmt.Sprintf("list door records page %d", page)
		var (
			recs []DayRecord
			next string
		)
		err := s.c.Do(ctx, op, s.o.Retry, func(ctx context.Context) error {
			var err error
			recs, next, err = s.fetchRecords(ctx, op, from, to, token)
			return err
		})
		if err != nil {
			return added, err
		}
		// Stored page by page: a day of 100,000 records is never held whole, and a
		// read cut short keeps what it read.
		n, err := s.o.Store.AddRecords(ctx, recs)
		added += n
		if err != nil {
			return added, fmt.Errorf("store door records: %w", err)
		}
		if next == "" {
			return added, nil
		}
		if next == token {
			return added, fmt.Errorf("read door records page %d: page token repeated, the server loops", page)
		}
		token = next
	}
}

// fetchRecords reads one page; next is "" on the last one.
func (s *Service) fetchRecords(ctx context.Context, op string, from, to time.Time, token string) ([]DayRecord, string, error) {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	b := larkacs.NewListAccessRecordReqBuilder().From(int(from.Unix())).To(int(to.Unix())).
		PageSize(recordPageSize).UserIdType(s.o.UserIDType)
	if token != "" {
		b.PageToken(token)
	}
	resp, err := s.c.Lark().Acs.V1.AccessRecord.List(ctx, b.Build())
	if err != nil {
		return nil, "", feishu.Classify(op, nil, larkcore.CodeError{}, err)
	}
	if err := feishu.Classify(op, resp.ApiResp, resp.CodeError, nil); err != nil {
		return nil, "", err
	}
	if resp.Data == nil {
		return nil, "", errNoData(op, resp.ApiResp)
	}
	recs := make([]DayRecord, 0, len(resp.Data.Items))
	for _, it := range resp.Data.Items {
		r, ok := recordOf(it)
		// The list's "to" may be inclusive; the day ends before it.
		if !ok || r.At.Before(from) || !r.At.Before(to) {
			continue
		}
		recs = append(recs, DayRecord{Record: r, Day: s.Day(r.At)})
	}
	next := ""
	if larkcore.BoolValue(resp.Data.HasMore) {
		if next = larkcore.StringValue(resp.Data.PageToken); next == "" {
			return nil, "", fmt.Errorf("%s: has_more without a page_token", op)
		}
	}
	return recs, next, nil
}

// recordOf reads a listed record; one without an id or a time is of no use.
func recordOf(it *larkacs.AccessRecord) (Record, bool) {
	if it == nil {
		return Record{}, false
	}
	at, ok := ParseTime(larkcore.StringValue(it.AccessTime))
	r := Record{
		ID:       larkcore.StringValue(it.AccessRecordId),
		UserID:   larkcore.StringValue(it.UserId),
		DeviceID: larkcore.StringValue(it.DeviceId),
		At:       at,
		DoorOpen: larkcore.BoolValue(it.IsDoorOpen),
		ClockIn:  larkcore.BoolValue(it.IsClockIn),
	}
	return r, ok && r.ID != ""
}

// ParseTime reads Feishu's access_time: unix seconds, as a string.
func ParseTime(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// Tidy prunes records older than Retention, at most once an hour, and stores
// yesterday as whole once this process heard it whole. Housekeeping calls it.
func (s *Service) Tidy(ctx context.Context) {
	now := s.o.Now()
	yesterday := s.Day(now.AddDate(0, 0, -1))
	start, _, err := s.bounds(yesterday)
	s.mu.Lock()
	mark := err == nil && !s.up.After(start) && s.marked != yesterday
	if mark {
		s.marked = yesterday
	}
	due := now.Sub(s.lastPruned) >= pruneEvery
	if due {
		s.lastPruned = now
	}
	s.mu.Unlock()
	if mark {
		s.markHeard(ctx, yesterday)
	}
	if !due {
		return
	}
	cut := now.Add(-Retention)
	if err := s.o.Store.PruneRecords(ctx, cut, s.Day(cut)); err != nil {
		s.o.Metrics.StoreErrors.WithLabelValues("door prune").Inc()
		s.o.Logger.WarnContext(ctx, "could not prune old door records", "err", err)
	}
}
