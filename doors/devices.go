package doors

import (
	"context"
	"errors"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkacs "github.com/larksuite/oapi-sdk-go/v3/service/acs/v1"

	"acsbot/feishu"
)

// Status is what Feishu says of a device's connection.
type Status int

// The statuses. The documented device list says nothing of it; the SDK's model
// carries property.online_status, 1 online and 0 offline by Feishu's usual
// convention. Anything else, or no property at all, is Unknown: a door is never
// called offline unless Feishu says so.
const (
	Unknown Status = iota
	Online
	Offline
)

// Device is one access control device.
type Device struct {
	ID, Name, SN string
	Status       Status
	// Faces and Capacity are the faces stored on the device and how many it
	// holds; Capacity 0 means Feishu did not say.
	Faces, Capacity int
}

// NearlyFull reports whether the device's face store is 90 % full or more.
func (d Device) NearlyFull() bool {
	return d.Capacity > 0 && d.Faces*10 >= d.Capacity*9
}

// DeviceList is the devices as one call returned them.
type DeviceList struct {
	Devices []Device
	TakenAt time.Time
}

// Names maps device ids to names, for cards that name doors.
func (l *DeviceList) Names() map[string]string {
	if l == nil {
		return nil
	}
	m := make(map[string]string, len(l.Devices))
	for _, d := range l.Devices {
		m[d.ID] = d.Name
	}
	return m
}

// Devices is the device list, read at most once per DeviceTTL however many ask.
func (s *Service) Devices(ctx context.Context) (*DeviceList, error) {
	s.mu.Lock()
	l := s.list
	s.mu.Unlock()
	if l != nil && s.o.Now().Sub(l.TakenAt) < s.o.DeviceTTL {
		return l, nil
	}
	return s.readDevices(ctx)
}

// DailyDevices is the device list the summaries of day share: one call a day
// serves every chat's summary (a list /doors read that day serves it too).
func (s *Service) DailyDevices(ctx context.Context, day string) (*DeviceList, error) {
	s.mu.Lock()
	l := s.daily
	if l == nil || s.Day(l.TakenAt) != day {
		l = s.list
	}
	s.mu.Unlock()
	if l == nil || s.Day(l.TakenAt) != day {
		var err error
		if l, err = s.readDevices(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.daily = l
	s.mu.Unlock()
	return l, nil
}

// CachedDevices is the latest device list of any age, or nil: enough to name doors.
func (s *Service) CachedDevices() *DeviceList {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list
}

// readDevices makes one device list call for everyone asking meanwhile.
func (s *Service) readDevices(ctx context.Context) (*DeviceList, error) {
	v, err, _ := s.devices.Do("devices", func() (any, error) {
		var l *DeviceList
		const op = "list acs devices"
		err := s.c.Do(ctx, op, s.o.Retry, func(ctx context.Context) error {
			var err error
			l, err = s.fetchDevices(ctx, op)
			return err
		})
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.list = l
		s.mu.Unlock()
		return l, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*DeviceList), nil
}

func (s *Service) fetchDevices(ctx context.Context, op string) (*DeviceList, error) {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.c.Lark().Acs.V1.Device.List(ctx)
	if err != nil {
		return nil, feishu.Classify(op, nil, larkcore.CodeError{}, err)
	}
	if err := feishu.Classify(op, resp.ApiResp, resp.CodeError, nil); err != nil {
		return nil, err
	}
	if resp.Data == nil {
		return nil, errNoData(op, resp.ApiResp)
	}
	l := &DeviceList{TakenAt: s.o.Now()}
	for _, it := range resp.Data.Items {
		if it == nil || larkcore.StringValue(it.DeviceId) == "" {
			continue
		}
		l.Devices = append(l.Devices, deviceOf(it))
	}
	return l, nil
}

func deviceOf(it *larkacs.Device) Device {
	d := Device{ID: *it.DeviceId, Name: larkcore.StringValue(it.DeviceName), SN: larkcore.StringValue(it.DeviceSn)}
	if p := it.Property; p != nil {
		if p.OnlineStatus != nil {
			switch *p.OnlineStatus {
			case 1:
				d.Status = Online
			case 0:
				d.Status = Offline
			}
		}
		d.Faces = larkcore.IntValue(p.CurrentDeviceFaceCount)
		d.Capacity = larkcore.IntValue(p.MaxFaceCapacity)
		if d.Name == "" {
			d.Name = larkcore.StringValue(p.DeviceName)
		}
	}
	if d.Name == "" {
		d.Name = d.ID
	}
	return d
}

// callContext bounds one ACS call by CallTimeout.
func (s *Service) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.o.CallTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.o.CallTimeout)
}

// errNoData is Feishu answering code 0 with no data; it is not worth a retry.
func errNoData(op string, resp *larkcore.ApiResp) error {
	return &feishu.Error{Op: op, Class: feishu.Permanent, HTTPStatus: resp.StatusCode,
		LogID: resp.RequestId(), Err: errors.New("feishu answered code 0 without data")}
}
