package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"acsbot/feishufake"
)

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// get fetches a URL until it answers 200, for up to 20 s, and returns the body.
func get(t *testing.T, url string, out *syncBuffer) string {
	t.Helper()
	var last error
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(25 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return string(body)
		}
		last = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	t.Fatalf("%s: no 200 within 20s: %v\n%s", url, last, out.String())
	return ""
}

// stopWithSIGTERM signals this process, as an operator stops the bot, and waits for
// run, started in a goroutine that sends its exit code on code, to return 0.
func stopWithSIGTERM(t *testing.T, code <-chan int, out *syncBuffer) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d after SIGTERM:\n%s", c, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop within 30s of SIGTERM")
	}
}

// The binary starts from a config file, serves /healthz, and on SIGTERM stops
// cleanly with exit code 0, logging no secret along the way.
func TestRunServesAndShutsDownOnSignal(t *testing.T) {
	const secret = "s3cret-app-secret-main-test"
	fake := feishufake.New(feishufake.Options{AppID: "cli_main0001", AppSecret: secret, VerificationToken: "vt-main", EncryptKey: "ek-main"})
	defer fake.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf("feishu: {app_id: cli_main0001, delivery: webhook, base_url: %q}\naccess: {admins: [ou_admin00000000000000000000000001]}\nstore: {path: %q}\n",
		fake.URL(), filepath.Join(dir, "bot.db"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ACSBOT_FEISHU_APP_SECRET", secret)
	t.Setenv("ACSBOT_FEISHU_VERIFICATION_TOKEN", "vt-main")
	t.Setenv("ACSBOT_FEISHU_ENCRYPT_KEY", "ek-main")
	addr := freeAddr(t)

	var out syncBuffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"-config", cfgPath, "-addr", addr}, &out) }()

	get(t, "http://"+addr+"/healthz", &out)
	stopWithSIGTERM(t, code, &out)
	for _, s := range []string{secret, "vt-main", "ek-main"} {
		if strings.Contains(out.String(), s) {
			t.Fatalf("log contains a secret:\n%s", out.String())
		}
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("acs: {cache_ttl: 0s}\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	if c := run([]string{"-config", path}, &out); c != 2 {
		t.Fatalf("exit code %d, want 2:\n%s", c, out.String())
	}
	if !strings.Contains(out.String(), "bogus") {
		t.Fatalf("error does not name the unknown key:\n%s", out.String())
	}
	if c := run([]string{"-config", filepath.Join(dir, "missing.yaml")}, &out); c != 2 {
		t.Fatalf("missing file: exit code %d, want 2", c)
	}
}
