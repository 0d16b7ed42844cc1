package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"acsbot/acs"
	"acsbot/doors"
	"acsbot/feishufake"
)

// The demo's doors: four doors and an attendance machine; the warehouse door is
// offline and the lab door's face store nearly full, so /doors and the summary have
// something to flag.
func demoDoors() []feishufake.FakeDevice {
	return []feishufake.FakeDevice{
		{ID: "6939433228970082001", Name: "Main entrance 正门", SN: "FS2101A001", Property: &feishufake.DeviceProperty{Online: true, Faces: 1760, Capacity: 5000}},
		{ID: "6939433228970082002", Name: "Lab door 实验室", SN: "FS2101A002", Property: &feishufake.DeviceProperty{Online: true, Faces: 468, Capacity: 500}},
		{ID: "6939433228970082003", Name: "Warehouse 仓库", SN: "FS2101A003", Property: &feishufake.DeviceProperty{Online: false, Faces: 120, Capacity: 5000}},
		{ID: "6939433228970082004", Name: "Back gate 后门", SN: "FS2101A004", Property: &feishufake.DeviceProperty{Online: true, Faces: 1760, Capacity: 5000}},
		{ID: "6939433228970082005", Name: "Attendance 考勤机", SN: "FS2101K001", Property: &feishufake.DeviceProperty{Online: true, Faces: 1760, Capacity: 3000, ClockIn: true}},
	}
}

// doorTraffic makes people pass through the demo's doors while it runs: a record
// every few seconds, now and then a clock-in at the attendance machine, each one
// made in the fake and sent to the bot as acs.access_record.created_v1.
type doorTraffic struct {
	c     *console
	users []acs.User
	rnd   *rand.Rand
	seq   int
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// trafficEvery is the mean gap between two passes; each gap is drawn from half to
// one and a half of it.
const trafficEvery = 5 * time.Second

// newDoorTraffic seeds the fake with the records of yesterday and of today until
// now, which the bot did not hear and reads once when first asked, and returns the
// traffic to come, not started.
func newDoorTraffic(c *console, users []acs.User, now time.Time, loc *time.Location) *doorTraffic {
	t := &doorTraffic{c: c, users: users, rnd: rand.New(rand.NewPCG(directorySeed, 13)), stop: make(chan struct{}), done: make(chan struct{})}
	day := time.Date(now.In(loc).Year(), now.In(loc).Month(), now.In(loc).Day(), 0, 0, 0, 0, loc)
	var seed []doors.Record
	// Around the clock, so a demo started at any hour has passes today to show.
	for at := day.AddDate(0, 0, -1); at.Before(now); at = at.Add(time.Duration(60+t.rnd.IntN(120)) * time.Second) {
		seed = append(seed, t.next(at))
	}
	c.fake.AddAccessRecords(seed...)
	return t
}

// next is a pass at at: a random person through a random online door, one in
// eight a clock-in at the attendance machine that opens no door.
func (t *doorTraffic) next(at time.Time) doors.Record {
	t.seq++
	devs := t.c.fake.Devices()
	var open []feishufake.FakeDevice
	for _, d := range devs {
		if d.Property != nil && d.Property.Online && !d.Property.ClockIn {
			open = append(open, d)
		}
	}
	u := t.users[t.rnd.IntN(len(t.users))]
	r := doors.Record{ID: fmt.Sprintf("70%017d", t.seq), UserID: u.ID, At: at.Truncate(time.Second)}
	if t.rnd.IntN(8) == 0 || len(open) == 0 {
		r.DeviceID, r.ClockIn = devs[len(devs)-1].ID, true
		return r
	}
	r.DeviceID, r.DoorOpen = open[t.rnd.IntN(len(open))].ID, true
	return r
}

// start runs the traffic until Stop.
func (t *doorTraffic) start() {
	go func() {
		defer close(t.done)
		for {
			gap := trafficEvery/2 + time.Duration(t.rnd.Int64N(int64(trafficEvery)))
			select {
			case <-t.stop:
				return
			case <-time.After(gap):
			}
			r := t.next(time.Now())
			t.c.fake.AddAccessRecords(r)
			ctx, cancel := context.WithTimeout(context.Background(), deliverWait)
			title := fmt.Sprintf("%s passed %s", t.c.people.Name(r.UserID), t.doorName(r.DeviceID))
			if _, err := t.c.deliver(ctx, "/webhook/event", t.c.fake.AccessRecordEvent(r), title); err != nil {
				t.c.log.Warn("demo door record not delivered", "err", err)
			}
			cancel()
		}
	}()
}

// Stop ends the traffic and waits for the pass in flight; safe to call twice.
func (t *doorTraffic) Stop() {
	t.once.Do(func() { close(t.stop) })
	<-t.done
}

func (t *doorTraffic) doorName(id string) string {
	for _, d := range t.c.fake.Devices() {
		if d.ID == id {
			return d.Name
		}
	}
	return id
}

// doorRoutes serve the console's door editor.
func (c *console) doorRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/api/doors", c.listDoors)
	mux.HandleFunc("POST /console/api/doors/{id}/online", c.toggleDoor)
}

type doorRow struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Online bool   `json:"online"`
	Faces  string `json:"faces"`
}

func (c *console) listDoors(w http.ResponseWriter, _ *http.Request) {
	var rows []doorRow
	for _, d := range c.fake.Devices() {
		row := doorRow{ID: d.ID, Name: d.Name}
		if p := d.Property; p != nil {
			row.Online, row.Faces = p.Online, fmt.Sprintf("%d/%d", p.Faces, p.Capacity)
		}
		rows = append(rows, row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"doors": rows})
}

// toggleDoor takes a door offline or brings it back, as a power cut or a repair
// would. Feishu sends no event for it: the bot sees it at its next device list read.
func (c *console) toggleDoor(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, d := range c.fake.Devices() {
		if d.ID == id && d.Property != nil {
			c.fake.SetDeviceOnline(id, !d.Property.Online)
			writeJSON(w, http.StatusOK, map[string]any{"name": d.Name, "online": !d.Property.Online})
			return
		}
	}
	writeError(w, http.StatusNotFound, "no such door")
}
