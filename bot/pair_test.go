package bot

import (
	"context"
	"strings"
	"testing"

	"acsbot/cards"
	"acsbot/command"
)

// Start-up fails, naming the command, when the registry and the runners disagree.
func TestPairingOfCommandsAndRunners(t *testing.T) {
	b := &Bot{}
	full := b.commandRunners()
	noop := func(context.Context, request) (cards.Card, string, error) { return cards.Card{}, "", nil }
	cases := []struct {
		name    string
		edit    func(map[string]runner)
		wantErr string
	}{
		{"every command has its runner", func(map[string]runner) {}, ""},
		{"a command without a runner", func(m map[string]runner) { delete(m, "stats") }, "commands without a runner: [stats]"},
		{"a runner without a command", func(m map[string]runner) { m["gates"] = noop }, "runners without a command in the registry: [gates]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]runner{}
			for k, v := range full {
				m[k] = v
			}
			c.edit(m)
			err := pair(command.Default(), m)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("pair: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("pair = %v, want %q", err, c.wantErr)
			}
		})
	}
}
