package handlers

import (
	"context"
	"strconv"

	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"

	"acsbot/inbox"
)

// onAccessRecord records a door record a device made, which the core stores at
// once. The job's key is the event id; the core stores a record once per record id,
// however many events bring it.
func (s *Server) onAccessRecord(ctx context.Context, ev *larkacs.P2AccessRecordCreatedV1) error {
	verdictFrom(ctx).reached = true
	if err := s.refuseHeader(ctx, ev.EventV2Base, ev.EventReq); err != nil {
		return err
	}
	if ev.Event == nil || ev.EventV2Base.Header.EventID == "" || deref(ev.Event.AccessRecordId) == "" || deref(ev.Event.AccessTime) == "" {
		return s.refuse(ctx, "malformed")
	}
	s.metrics.EventsReceived.WithLabelValues(inbox.KindAccessRecord).Inc()
	e := ev.Event
	j := inbox.Job{Kind: inbox.KindAccessRecord, Key: ev.EventV2Base.Header.EventID, ReceivedAt: s.now(), Extra: map[string]string{
		"access_record_id": deref(e.AccessRecordId),
		"device_id":        deref(e.DeviceId),
		"access_time":      deref(e.AccessTime),
		"is_door_open":     strconv.FormatBool(e.IsDoorOpen != nil && *e.IsDoorOpen),
		"is_clock_in":      strconv.FormatBool(e.IsClockIn != nil && *e.IsClockIn),
	}}
	if u := e.UserId; u != nil {
		j.Sender = inbox.IDs{OpenID: deref(u.OpenId), UnionID: deref(u.UnionId), UserID: deref(u.UserId)}
	}
	s.inbox.Accept(ctx, j)
	return nil
}
