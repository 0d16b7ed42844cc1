package cards

import (
	"testing"
	"time"

	"acsbot/command"
)

func TestViewStatus(t *testing.T) {
	tests := []struct {
		name       string
		lang       command.Lang
		age        time.Duration
		noSnapshot bool
		refreshing bool
		want       string
	}{
		{"seconds are just now", command.EN, 59 * time.Second, false, false, "Data as of just now"},
		{"a clock that went back is just now", command.EN, -time.Hour, false, false, "Data as of just now"},
		{"minutes", command.EN, 3*time.Minute + 59*time.Second, false, false, "Data as of 3 min ago"},
		{"minutes in Chinese", command.ZH, 3 * time.Minute, false, false, "数据更新于 3 分钟前"},
		{"hours", command.EN, 2*time.Hour + 30*time.Minute, false, false, "Data as of 2 h ago"},
		{"hours in Chinese", command.ZH, 23 * time.Hour, false, false, "数据更新于 23 小时前"},
		{"one day", command.EN, 25 * time.Hour, false, false, "Data as of 1 day ago"},
		{"days", command.EN, 72 * time.Hour, false, false, "Data as of 3 days ago"},
		{"days in Chinese", command.ZH, 72 * time.Hour, false, false, "数据更新于 3 天前"},
		{"refreshing", command.EN, 3 * time.Minute, false, true, "Data as of 3 min ago · refreshing…"},
		{"refreshing in Chinese", command.ZH, 0, false, true, "数据刚刚更新 · 正在刷新…"},
		{"no snapshot time, refreshing", command.EN, 0, true, true, "refreshing…"},
		{"no snapshot time", command.EN, 0, true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := View{Lang: tt.lang, Now: now, TakenAt: now.Add(-tt.age), Refreshing: tt.refreshing}
			if tt.noSnapshot {
				v.TakenAt = time.Time{}
			}
			if got := v.status(); got != tt.want {
				t.Errorf("status() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFooterIsLeftOutWhenEmpty(t *testing.T) {
	tests := []struct {
		name   string
		v      View
		masked bool
		want   int
	}{
		{"nothing to say", View{Lang: command.EN, Now: now}, false, 0},
		{"only why numbers are masked", View{Lang: command.EN, Now: now}, true, 1},
		{"only the age", View{Lang: command.EN, Now: now, TakenAt: now}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(tt.v.footer(tt.masked)); got != tt.want {
				t.Errorf("footer has %d elements, want %d", got, tt.want)
			}
		})
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		part, total int
		want        string
	}{
		{0, 0, "—"},
		{5, 0, "—"},
		{0, 10, "0%"},
		{10, 10, "100%"},
		{1100, 1234, "89.1%"},
		{9999, 10000, "99.9%"}, // rounded down: one person missing is not 100%
		{99999, 100000, "99.9%"},
		{1, 3, "33.3%"},
		{1, 2, "50%"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := percent(tt.part, tt.total); got != tt.want {
				t.Errorf("percent(%d, %d) = %q, want %q", tt.part, tt.total, got, tt.want)
			}
		})
	}
}

func TestCount(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {123456, "123,456"},
		{1234567, "1,234,567"}, {-1234, "-1,234"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := count(tt.n); got != tt.want {
				t.Errorf("count(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		lang command.Lang
		d    time.Duration
		want string
	}{
		{command.EN, -time.Second, "0 ms"},
		{command.EN, 350 * time.Millisecond, "350 ms"},
		{command.ZH, 350 * time.Millisecond, "350 毫秒"},
		{command.EN, 2345 * time.Millisecond, "2.3 s"},
		{command.ZH, 2345 * time.Millisecond, "2.3 秒"},
		{command.EN, 59999 * time.Millisecond, "59.9 s"},
		{command.EN, 65 * time.Second, "1 min 5 s"},
		{command.ZH, 125 * time.Second, "2 分 5 秒"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := duration(tt.lang, tt.d); got != tt.want {
				t.Errorf("duration(%s, %v) = %q, want %q", tt.lang, tt.d, got, tt.want)
			}
		})
	}
}
