package feishufake

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"acsbot/doors"
)

// The access record list serves the time window asked for, oldest first, in pages,
// and refuses what Feishu refuses.
func TestListAccessRecords(t *testing.T) {
	s := newFake(t, nil)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 7 {
		s.AddAccessRecords(doors.Record{ID: fmt.Sprint(i), UserID: "ou_a", DeviceID: []string{"d1", "d2"}[i%2], At: t0.Add(time.Duration(6-i) * time.Minute), DoorOpen: true})
	}
	tok := token(t, s)
	window := fmt.Sprintf("from=%d&to=%d", t0.Add(time.Minute).Unix(), t0.Add(5*time.Minute).Unix())
	var got []string
	page := ""
	for range 5 {
		q := window + "&page_size=2"
		if page != "" {
			q += "&page_token=" + url.QueryEscape(page)
		}
		status, _, v := rawCall(t, s, http.MethodGet, pathACSAccessRecords+"?"+q, tok, nil)
		if status != 200 {
			t.Fatalf("status %d: %v", status, v)
		}
		data := v["data"].(map[string]any)
		for _, it := range data["items"].([]any) {
			got = append(got, it.(map[string]any)["access_record_id"].(string))
		}
		if data["has_more"] != true {
			break
		}
		page = data["page_token"].(string)
	}
	if want := []string{"5", "4", "3", "2", "1"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("records %v, want %v (oldest first, inside the window)", got, want)
	}
	_, _, v := rawCall(t, s, http.MethodGet, pathACSAccessRecords+"?"+window+"&device_id=d2", tok, nil)
	if n := len(v["data"].(map[string]any)["items"].([]any)); n != 3 {
		t.Errorf("device d2 has %d records in the window, want 3", n)
	}

	for _, c := range []struct {
		name, query string
		code        int
	}{
		{"no from", fmt.Sprintf("to=%d", t0.Unix()), codeBadField},
		{"span over 30 days", fmt.Sprintf("from=0&to=%d", 31*24*3600), codeTimeRangeOversize},
		{"page_size 501", window + "&page_size=501", codeBadField},
		{"bad page token", window + "&page_token=xyz", codeInvalidPageToken},
	} {
		if status, _, v := rawCall(t, s, http.MethodGet, pathACSAccessRecords+"?"+c.query, tok, nil); status != 400 || code(v) != c.code {
			t.Errorf("%s: status %d code %d, want 400 %d", c.name, status, code(v), c.code)
		}
	}
	s.WithoutScope(scopeAccessRecordsRead)
	if status, _, v := rawCall(t, s, http.MethodGet, pathACSAccessRecords+"?"+window, tok, nil); status != 400 || code(v) != codeNoScope {
		t.Errorf("without the scope: status %d code %d", status, code(v))
	}
	if n := s.RecordCalls(); n != 9 {
		t.Errorf("RecordCalls = %d, want 9", n)
	}
}

// Devices carry property only where the fake was given one, as a real tenant may
// not send it; turning one offline shows in the next list.
func TestListDevices(t *testing.T) {
	s := newFake(t, nil)
	s.SetDevices([]FakeDevice{{ID: "d1", Name: "Lab", SN: "S1", Property: &DeviceProperty{Online: true, Faces: 3, Capacity: 10}}, {ID: "d2", Name: "Gate", SN: "S2"}})
	if !s.SetDeviceOnline("d1", false) || s.SetDeviceOnline("d2", false) {
		t.Fatal("SetDeviceOnline: want true for a device with property, false without")
	}
	_, _, v := rawCall(t, s, http.MethodGet, pathACSDevices, token(t, s), nil)
	items := v["data"].(map[string]any)["items"].([]any)
	d1, d2 := items[0].(map[string]any), items[1].(map[string]any)
	if p := d1["property"].(map[string]any); p["online_status"] != float64(0) || p["max_face_capacity"] != float64(10) {
		t.Errorf("d1 property %v", p)
	}
	if _, has := d2["property"]; has || d2["device_sn"] != "S2" {
		t.Errorf("d2 %v", d2)
	}
}
