package command

import "testing"

func TestParseClock(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"09:30", "09:30", true},
		{"9:30", "09:30", true},
		{"0:00", "00:00", true},
		{"23:59", "23:59", true},
		{"24:00", "", false},
		{"25:00", "", false},
		{"12:60", "", false},
		{"9:5", "", false},
		{"009:30", "", false},
		{"9点", "", false},
		{"abc", "", false},
		{"", "", false},
		{" 9:30", "", false},
		{"-1:30", "", false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, ok := ParseClock(c.in)
			if got != c.want || ok != c.ok {
				t.Fatalf("ParseClock(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}
