package feishufake

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"acsbot/doors"
)

// The door APIs' paths, limits and codes (feishu-platform.md §6).
const (
	pathACSDevices          = "/open-apis/acs/v1/devices"
	pathACSAccessRecords    = "/open-apis/acs/v1/access_records"
	recordDefaultPageSize   = 100
	recordMaxPageSize       = 500
	recordMaxSpan           = 30 * 24 * time.Hour
	codeTimeRangeOversize   = 1490017
	scopeDevicesReadonly    = "acs:devices:readonly"
	scopeAccessRecordsRead  = "acs:access_record:readonly"
	eventAccessRecordCreate = "acs.access_record.created_v1"
)

// FakeDevice is a device of the fake tenant. The documented list gives only id,
// name and serial; Property adds what the SDK's model holds (online status, faces),
// which the fake sends unless it is nil, as a real tenant may not.
type FakeDevice struct {
	ID, Name, SN string
	Property     *DeviceProperty
}

// DeviceProperty is a device's property as the SDK's model reads it.
type DeviceProperty struct {
	Online          bool
	Faces, Capacity int
	ClockIn         bool // an attendance machine
}

// doorState is the fake's devices and door records, under a lock of their own.
type doorState struct {
	mu          sync.Mutex
	devices     []FakeDevice
	records     []doors.Record // in the order they were made
	latency     time.Duration
	noScope     map[string]bool // scopes the app lacks
	deviceCalls int
	recordCalls int
}

// SetDevices replaces the tenant's devices.
func (s *Server) SetDevices(ds []FakeDevice) {
	s.doors.mu.Lock()
	defer s.doors.mu.Unlock()
	s.doors.devices = slices.Clone(ds)
}

// Devices returns a copy of the tenant's devices.
func (s *Server) Devices() []FakeDevice {
	s.doors.mu.Lock()
	defer s.doors.mu.Unlock()
	return slices.Clone(s.doors.devices)
}

// SetDeviceOnline turns a device's online status; false when there is no such
// device or it has no property to say it in.
func (s *Server) SetDeviceOnline(id string, online bool) bool {
	s.doors.mu.Lock()
	defer s.doors.mu.Unlock()
	i := slices.IndexFunc(s.doors.devices, func(d FakeDevice) bool { return d.ID == id })
	if i < 0 || s.doors.devices[i].Property == nil {
		return false
	}
	p := *s.doors.devices[i].Property
	p.Online = online
	s.doors.devices[i].Property = &p
	return true
}

// AddAccessRecords records door records as devices make them; the list API serves
// them, and AccessRecordEvent tells the bot of one.
func (s *Server) AddAccessRecords(rs ...doors.Record) {
	s.doors.mu.Lock()
	defer s.doors.mu.Unlock()
	s.doors.records = append(s.doors.records, rs...)
}

// AccessRecords returns a copy of every record made.
func (s *Server) AccessRecords() []doors.Record {
	s.doors.mu.Lock()
	defer s.doors.mu.Unlock()
	return slices.Clone(s.doors.records)
}

// WithoutScope makes the door APIs refuse the app as Feishu does when a scope is
// not granted (99991672): acs:devices:readonly or acs:access_record:readonly.
func (s *Server) WithoutScope(scope string) {
	s.doors.mu.Lock()
	defer s.doors.mu.Unlock()
	if s.doors.noScope == nil {
		s.doors.noScope = map[string]bool{}
	}
	s.doors.noScope[scope] = true
}

// SetRecordLatency delays every access record list page by d.
func (s *Server) SetRecordLatency(d time.Duration) {
	s.doors.mu.Lock()
	defer s.doors.mu.Unlock()
	s.doors.latency = d
}

// DeviceCalls counts device list requests; RecordCalls access record list pages.
func (s *Server) DeviceCalls() int {
	s.doors.mu.Lock()
	defer s.doors.mu.Unlock()
	return s.doors.deviceCalls
}

// RecordCalls counts access record list requests, refused ones included.
func (s *Server) RecordCalls() int {
	s.doors.mu.Lock()
	defer s.doors.mu.Unlock()
	return s.doors.recordCalls
}

// admitDoorCall counts a door API call in calls and answers it itself when the
// token is bad or the app lacks scope; ok says the caller answers. It returns the
// latency set for record pages.
func (s *Server) admitDoorCall(w *apiWriter, r *http.Request, calls *int, scope string) (time.Duration, bool) {
	s.doors.mu.Lock()
	*calls++
	refused := s.doors.noScope[scope]
	latency := s.doors.latency
	s.doors.mu.Unlock()
	if !s.authorize(w, r) {
		return 0, false
	}
	if refused {
		refuseScope(w, scope)
		return 0, false
	}
	return latency, true
}

// refuseScope answers a call the app lacks scope for, as Feishu does.
func refuseScope(w *apiWriter, scope string) {
	e := errorBody{LogID: w.logID, PermissionViolations: []permissionViolation{{
		Type: "action_scope_required", Subject: scope, Description: scope,
	}}}
	w.json(http.StatusBadRequest, envelope{Code: codeNoScope, Error: &e,
		Msg: "Access denied. One of the following scopes is required: [" + scope + "]. 应用尚未开通所需的应用身份权限：[" + scope + "]"})
}

type deviceJSON struct {
	DeviceID   string        `json:"device_id"`
	DeviceName string        `json:"device_name"`
	DeviceSN   string        `json:"device_sn"`
	Property   *propertyJSON `json:"property,omitempty"`
}

type propertyJSON struct {
	Version                string `json:"version"`
	CurrentDeviceFaceCount int    `json:"current_device_face_count"`
	MaxFaceCapacity        int    `json:"max_face_capacity"`
	OnlineStatus           int    `json:"online_status"`
	DeviceName             string `json:"device_name"`
	IsClockIn              bool   `json:"is_clock_in"`
}

// handleListDevices serves GET /open-apis/acs/v1/devices: every device, no paging.
func (s *Server) handleListDevices(w *apiWriter, r *http.Request, _ []byte) {
	if _, ok := s.admitDoorCall(w, r, &s.doors.deviceCalls, scopeDevicesReadonly); !ok {
		return
	}
	s.doors.mu.Lock()
	items := make([]deviceJSON, 0, len(s.doors.devices))
	for _, d := range s.doors.devices {
		j := deviceJSON{DeviceID: d.ID, DeviceName: d.Name, DeviceSN: d.SN}
		if p := d.Property; p != nil {
			j.Property = &propertyJSON{Version: "1.0.3", CurrentDeviceFaceCount: p.Faces, MaxFaceCapacity: p.Capacity,
				DeviceName: d.Name, IsClockIn: p.ClockIn}
			if p.Online {
				j.Property.OnlineStatus = 1
			}
		}
		items = append(items, j)
	}
	s.doors.mu.Unlock()
	w.ok(map[string]any{"items": items})
}

type recordJSON struct {
	AccessRecordID string `json:"access_record_id"`
	UserID         string `json:"user_id"`
	DeviceID       string `json:"device_id"`
	IsClockIn      bool   `json:"is_clock_in"`
	AccessTime     string `json:"access_time"`
	AccessType     string `json:"access_type"`
	AccessData     string `json:"access_data"`
	IsDoorOpen     bool   `json:"is_door_open"`
}

// handleListRecords serves GET /open-apis/acs/v1/access_records: the records of
// [from, to] (seconds, both required, at most 30 days apart), oldest first, paged.
func (s *Server) handleListRecords(w *apiWriter, r *http.Request, _ []byte) {
	latency, ok := s.admitDoorCall(w, r, &s.doors.recordCalls, scopeAccessRecordsRead)
	if !ok || !s.wait(r.Context(), latency) {
		return
	}
	q := r.URL.Query()
	var bounds [2]int64
	for i, key := range []string{"from", "to"} {
		n, err := strconv.ParseInt(q.Get(key), 10, 64)
		if err != nil || n < 0 {
			w.fail(http.StatusBadRequest, codeBadField, "field validation failed",
				fieldViolation{Field: key, Value: q.Get(key), Description: key + " is required: unix seconds"})
			return
		}
		bounds[i] = n
	}
	from, to := bounds[0], bounds[1]
	if to < from || time.Duration(to-from)*time.Second > recordMaxSpan {
		w.fail(http.StatusBadRequest, codeTimeRangeOversize, "time range oversize")
		return
	}
	size, offset, page, ok := s.paging(w, q, recordDefaultPageSize, recordMaxPageSize)
	if !ok {
		return
	}
	device := q.Get("device_id")
	s.doors.mu.Lock()
	var window []doors.Record
	for _, rec := range s.doors.records {
		if at := rec.At.Unix(); at >= from && at <= to && (device == "" || rec.DeviceID == device) {
			window = append(window, rec)
		}
	}
	s.doors.mu.Unlock()
	slices.SortStableFunc(window, func(a, b doors.Record) int { return cmp.Compare(a.At.Unix(), b.At.Unix()) })
	start := min(offset, len(window))
	end := min(start+size, len(window))
	items := make([]recordJSON, 0, end-start)
	for _, rec := range window[start:end] {
		items = append(items, recordJSON{AccessRecordID: rec.ID, UserID: rec.UserID, DeviceID: rec.DeviceID,
			IsClockIn: rec.ClockIn, AccessTime: strconv.FormatInt(rec.At.Unix(), 10), AccessType: "FA",
			AccessData: `{"has_access_photo":true}`, IsDoorOpen: rec.DoorOpen})
	}
	body := map[string]any{"items": items, "has_more": end < len(window)}
	if end < len(window) {
		body["page_token"] = s.encodePageToken(end, page+1)
	}
	w.ok(body)
}

// AccessRecordEvent builds acs.access_record.created_v1 for a record a device made.
// Its user_id is an object, unlike the string of the list.
func (s *Server) AccessRecordEvent(rec doors.Record) Envelope {
	return s.Event(eventAccessRecordCreate, map[string]any{
		"access_record_id": rec.ID,
		"user_id":          idsOf(rec.UserID),
		"device_id":        rec.DeviceID,
		"is_clock_in":      rec.ClockIn,
		"is_door_open":     rec.DoorOpen,
		"access_time":      strconv.FormatInt(rec.At.Unix(), 10),
	})
}
