package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"header", []string{"-header"}, exitOK, "| rate/s |", ""},
		{"unknown flag", []string{"-nope"}, exitUsage, "", "flag provided but not defined"},
		{"bad rate", []string{"-rate", "0"}, exitUsage, "", "-rate must be above 0"},
		{"bad delivery", []string{"-delivery", "http"}, exitUsage, "", "-delivery must be webhook or websocket"},
		{"missing binary", []string{"-bot", "/nonexistent/acsbot", "-users", "10", "-duration", "1s", "-rate", "1"}, exitWrong, "", "start bot /nonexistent/acsbot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			if code != tt.code || !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("code %d, stdout %q, stderr %q; want %d, %q, %q", code, out.String(), errOut.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestVerdictExitCodes(t *testing.T) {
	slow := good()
	slow.P99 = 2 * slow.P99 * 10
	doubled := good()
	doubled.DupAnswered = 2
	tests := []struct {
		name    string
		r       Result
		sustain bool
		code    int
	}{
		{"good", good(), true, exitOK},
		{"slow, not asked to sustain", slow, false, exitOK},
		{"slow, asked to sustain", slow, true, exitNotKeptUp},
		{"answered twice", doubled, false, exitWrong},
		{"answered twice beats slow", doubled, true, exitWrong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := verdict(tt.r, tt.sustain, func(string, ...any) {}); code != tt.code {
				t.Errorf("verdict = %d, want %d", code, tt.code)
			}
		})
	}
}
