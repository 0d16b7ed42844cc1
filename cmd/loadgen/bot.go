package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// botProc is the bot binary running as a child process.
type botProc struct {
	cmd     *exec.Cmd
	url     string // http://127.0.0.1:PORT
	logPath string
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed
}

// startupTimeout bounds the wait for the bot to listen and report healthy.
const startupTimeout = 60 * time.Second

// startBot runs the binary at bin with the config at cfgPath and the secrets in env,
// its log going to dir/bot.log, and waits until /healthz answers 200.
func startBot(ctx context.Context, bin, cfgPath string, env []string, dir string) (*botProc, error) {
	logPath := filepath.Join(dir, "bot.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create bot log: %w", err)
	}
	cmd := exec.Command(bin, "-config", cfgPath)
	cmd.Env = append(withoutBotSecrets(os.Environ()), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("bot stderr: %w", err)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start bot %s: %w", bin, err)
	}
	b := &botProc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer logFile.Close()
		copyLog(stderr, logFile, addr)
	}()
	go func() {
		<-copied // Wait closes the pipe; read it to the end first
		b.waitErr = cmd.Wait()
		close(b.exited)
	}()
	if err := b.awaitReady(ctx, addr); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

// withoutBotSecrets drops any ACSBOT_ variable of the caller's environment, so the
// bot runs with the fake tenant's secrets only.
func withoutBotSecrets(environ []string) []string {
	var out []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "ACSBOT_") {
			out = append(out, kv)
		}
	}
	return out
}

// copyLog copies the bot's log to w and sends the address from its "listening" line.
func copyLog(r io.Reader, w io.Writer, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	found := false
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(w, line)
		if a, ok := listeningAddr(line); ok && !found {
			found = true
			addr <- a
		}
	}
	_, _ = io.Copy(w, r) // a line longer than the scanner takes: keep the rest anyway
}

// listeningAddr reads the address out of the bot's `msg="acsbot listening"
// addr=HOST:PORT` log line.
func listeningAddr(line string) (string, bool) {
	if !strings.Contains(line, `msg="acsbot listening"`) {
		return "", false
	}
	_, rest, ok := strings.Cut(line, " addr=")
	if !ok {
		return "", false
	}
	a, _, _ := strings.Cut(rest, " ")
	return strings.Trim(a, `"`), a != ""
}

func (b *botProc) awaitReady(ctx context.Context, addr <-chan string) error {
	ctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	select {
	case a := <-addr:
		b.url = "http://" + a
	case <-b.exited:
		return fmt.Errorf("bot exited at start (%v); its log ends:\n%s", b.waitErr, logTail(b.logPath))
	case <-ctx.Done():
		return fmt.Errorf("bot did not listen within %s; its log ends:\n%s", startupTimeout, logTail(b.logPath))
	}
	for {
		if healthy(ctx, b.url) {
			return nil
		}
		select {
		case <-b.exited:
			return fmt.Errorf("bot exited at start (%v); its log ends:\n%s", b.waitErr, logTail(b.logPath))
		case <-ctx.Done():
			return fmt.Errorf("bot not healthy within %s; its log ends:\n%s", startupTimeout, logTail(b.logPath))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tailLines is how much of the bot's log an error shows: the log lives in a temp
// dir that goes when the run ends.
const tailLines = 20

// logTail is the end of the bot's log. The bot never logs a secret.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-tailLines):], "\n")
}

func healthy(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stopGrace is how long the bot may take to stop after SIGTERM before it is killed.
const stopGrace = 30 * time.Second

// stop asks the bot to shut down as an operator would, and kills it if it hangs. It
// returns an error if the bot did not exit cleanly.
func (b *botProc) stop() error {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(stopGrace):
		_ = b.cmd.Process.Kill()
		<-b.exited
		return fmt.Errorf("bot did not stop within %s of SIGTERM; killed", stopGrace)
	}
	if b.waitErr != nil {
		return fmt.Errorf("bot exit: %w; its log ends:\n%s", b.waitErr, logTail(b.logPath))
	}
	return nil
}

// footprint reads the bot's resident memory and goroutine count.
func (b *botProc) footprint(ctx context.Context) (Footprint, error) {
	rss, err := rssKB(b.cmd.Process.Pid)
	if err != nil {
		return Footprint{}, err
	}
	text, err := scrape(ctx, b.url)
	if err != nil {
		return Footprint{}, err
	}
	g, ok := metricSum(text, "go_goroutines")
	if !ok {
		return Footprint{}, errors.New("bot /metrics has no go_goroutines")
	}
	return Footprint{RSSKB: rss, Goroutines: int(g)}, nil
}

// rssKB reads VmRSS of a process from /proc.
func rssKB(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read bot memory: %w", err)
	}
	return vmRSS(string(status))
}

// vmRSS reads the VmRSS line ("VmRSS:    12345 kB") of a /proc status file.
func vmRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse VmRSS %q: %w", strings.TrimSpace(line), err)
		}
		return kb, nil
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// scrape fetches the bot's /metrics text.
func scrape(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return "", fmt.Errorf("build metrics request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("read bot metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("read bot metrics: status %d: %v", resp.StatusCode, err)
	}
	return string(body), nil
}

// metricSum adds up every series of a metric in Prometheus text whose labels
// contain all of labels (each `name="value"`), and reports whether any matched.
func metricSum(text, name string, labels ...string) (float64, bool) {
	var sum float64
	found := false
	for line := range strings.Lines(text) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		metric, lbls, _ := strings.Cut(series, "{")
		if !ok || metric != name || !hasAll(lbls, labels) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

func hasAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
