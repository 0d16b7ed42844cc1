package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestListeningAddr(t *testing.T) {
	tests := []struct {
		line string
		want string
		ok   bool
	}{
		{`time=2026-01-01T00:00:00.000Z level=INFO msg="acsbot listening" addr=127.0.0.1:41234`, "127.0.0.1:41234", true},
		{`time=x level=INFO msg="acsbot listening" addr=127.0.0.1:8080 extra=1`, "127.0.0.1:8080", true},
		{`time=x level=INFO msg="acsbot listening" addr="[::1]:8080"`, "[::1]:8080", true},
		{`time=x level=INFO msg="shutting down"`, "", false},
		{`time=x level=INFO msg="acsbot listening"`, "", false},
	}
	for _, tt := range tests {
		got, ok := listeningAddr(tt.line)
		if got != tt.want || ok != tt.ok {
			t.Errorf("listeningAddr(%q) = %q, %v; want %q, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestVmRSS(t *testing.T) {
	tests := []struct {
		name, status string
		want         int64
		wantErr      bool
	}{
		{"kernel format", "Name:\tacsbot\nVmPeak:\t  900 kB\nVmRSS:\t   25432 kB\nThreads:\t9\n", 25432, false},
		{"missing", "Name:\tacsbot\n", 0, true},
		{"garbled", "VmRSS:\t lots kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vmRSS(tt.status)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("vmRSS = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// This process's own RSS is readable the way the bot's is.
func TestRSSOfThisProcess(t *testing.T) {
	kb, err := rssKB(os.Getpid())
	if err != nil || kb <= 0 {
		t.Fatalf("rssKB(self) = %d, %v", kb, err)
	}
}

func TestMetricSum(t *testing.T) {
	const text = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 27
acsbot_commands_total{command="noface",outcome="ok"} 10
acsbot_commands_total{command="noface",outcome="refused"} 2
acsbot_commands_total{command="stats",outcome="refused"} 3
acsbot_commands_total_other 99
acsbot_events_deduped_total 1.5e+01
`
	tests := []struct {
		name   string
		labels []string
		want   float64
		found  bool
	}{
		{"go_goroutines", nil, 27, true},
		{"acsbot_commands_total", nil, 15, true},
		{"acsbot_commands_total", []string{`outcome="refused"`}, 5, true},
		{"acsbot_commands_total", []string{`outcome="refused"`, `command="stats"`}, 3, true},
		{"acsbot_commands_total", []string{`outcome="error"`}, 0, false},
		{"acsbot_events_deduped_total", nil, 15, true},
		{"go_threads", nil, 0, false},
	}
	for _, tt := range tests {
		got, found := metricSum(text, tt.name, tt.labels...)
		if got != tt.want || found != tt.found {
			t.Errorf("metricSum(%s, %v) = %v, %v; want %v, %v", tt.name, tt.labels, got, found, tt.want, tt.found)
		}
	}
}

func TestWithoutBotSecrets(t *testing.T) {
	got := withoutBotSecrets([]string{"PATH=/bin", "ACSBOT_FEISHU_APP_SECRET=x", "HOME=/root", "ACSBOT_FEISHU_ENCRYPT_KEY=y"})
	if want := []string{"PATH=/bin", "HOME=/root"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A bot that dies at start is reported with the end of its log, which goes with
// the run's temp dir.
func TestStartBotReportsAnEarlyExit(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "acsbot")
	script := "#!/bin/sh\necho 'acsbot: config: access.admins: at least one admin is required' >&2\nexit 2\n"
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := startBot(context.Background(), bin, filepath.Join(dir, "config.yaml"), nil, dir)
	if err == nil || !strings.Contains(err.Error(), "exit status 2") || !strings.Contains(err.Error(), "at least one admin is required") {
		t.Fatalf("startBot = %v, want the exit status and the log's last line", err)
	}
}
