package scheduler

import (
	"context"
	"time"

	"acsbot/cards"
)

// doorsDay is the summary's doors line for day: the day before's entries by door
// (read from Feishu first if the bot did not hear it whole), and the devices as the
// day's one device list call found them, shared by every chat's summary. Without
// the records there is no line, and the summary goes without it; without the
// devices the line names doors by id.
func (s *Scheduler) doorsDay(ctx context.Context, day string) *cards.DoorsDay {
	if s.doors == nil {
		return nil
	}
	d, err := time.ParseInLocation(time.DateOnly, day, s.loc)
	if err != nil {
		return nil
	}
	yesterday := d.AddDate(0, 0, -1).Format(time.DateOnly)
	counts, err := s.doors.DayCounts(ctx, yesterday)
	if err != nil {
		s.log.Warn("daily summary without its doors line: no door records", "day", yesterday, "err", err)
		return nil
	}
	devices, err := s.doors.DailyDevices(ctx, day)
	if err != nil {
		s.log.Warn("daily summary's doors line without devices", "err", err)
	}
	return &cards.DoorsDay{Day: yesterday, Counts: counts, Devices: devices}
}
