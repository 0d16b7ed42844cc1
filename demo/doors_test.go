package demo

import (
	"strings"
	"testing"
)

// The demo's doors show life: /doors lists them with the warehouse offline, /access
// counts today's passes (read once from the fake, which the bot did not hear), and
// the door editor takes a door offline.
func TestConsoleDoors(t *testing.T) {
	d := startDemo(t)
	say(t, d, "admin", "dm", "/doors")
	cards := botCards(t, d, "admin", "dm", 1)
	if html := string(cards[0].HTML); !strings.Contains(html, "Warehouse 仓库") || !strings.Contains(html, "离线") || !strings.Contains(html, "人脸库将满") {
		t.Fatalf("/doors: %.2000s", html)
	}
	say(t, d, "admin", "dm", "/access")
	cards = botCards(t, d, "admin", "dm", 2)
	if html := string(cards[1].HTML); !strings.Contains(html, "通行记录") || strings.Contains(html, "这一天没有通行记录") {
		t.Fatalf("/access: %.2000s", html)
	}
	var doors struct {
		Doors []doorRow `json:"doors"`
	}
	call(t, d, "GET", "doors", nil, &doors)
	if len(doors.Doors) != 5 || !doors.Doors[0].Online {
		t.Fatalf("doors: %+v", doors)
	}
	var res map[string]any
	if code := call(t, d, "POST", "doors/"+doors.Doors[0].ID+"/online", struct{}{}, &res); code != 200 || res["online"] != false {
		t.Fatalf("toggle: %d %v", code, res)
	}
	if devs := d.fake.Devices(); devs[0].Property.Online {
		t.Error("the main entrance is still online in the fake")
	}
}
