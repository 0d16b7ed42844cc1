package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"acsbot/feishufake"
)

// The binary in its default mode: it opens the long connection, takes commands over
// it, serves no webhook, says once that the webhook's keys are ignored, and on
// SIGTERM closes the connection and exits 0, logging no secret.
func TestRunLongConnection(t *testing.T) {
	const secret = "s3cret-app-secret-ws-test"
	ws := feishufake.WSClientConfig{ReconnectCount: -1, ReconnectInterval: 1, ReconnectNonce: 0, PingInterval: 1}
	fake := feishufake.New(feishufake.Options{AppID: "cli_ws0001", AppSecret: secret, VerificationToken: "vt-ws", WS: &ws, WSRepushAfter: 2 * time.Second})
	defer fake.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf("feishu: {app_id: cli_ws0001, base_url: %q}\naccess: {admins: [ou_admin00000000000000000000000001]}\nstore: {path: %q}\n",
		fake.URL(), filepath.Join(dir, "bot.db"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ACSBOT_FEISHU_APP_SECRET", secret)
	t.Setenv("ACSBOT_FEISHU_VERIFICATION_TOKEN", "vt-ws") // a webhook key, ignored here
	addr := freeAddr(t)

	var out syncBuffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"-config", cfgPath, "-addr", addr}, &out) }()

	if body := get(t, "http://"+addr+"/healthz", &out); !strings.Contains(body, `"long_connection":"up"`) {
		t.Errorf("/healthz: %s", body)
	}
	ev := fake.MessageEvent(feishufake.UserMessage{ChatID: "oc_p2p_1", ChatType: "p2p", SenderOpenID: "ou_admin00000000000000000000000001", Text: "/help"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ack, err := fake.PushEvent(ctx, ev); err != nil || ack.Code != http.StatusOK {
		t.Fatalf("push: ack %+v, %v\n%s", ack, err, out.String())
	}
	if _, err := fake.WaitMessages(ctx, 1); err != nil {
		t.Fatalf("no answer over the long connection: %v\n%s", err, out.String())
	}
	resp, err := http.Post("http://"+addr+"/webhook/event", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /webhook/event: %d, want 404", resp.StatusCode)
	}

	stopWithSIGTERM(t, code, &out)
	log := out.String()
	for line, want := range map[string]int{
		`msg="config keys ignored with the long connection" delivery=websocket keys=feishu.verification_token`: 1,
		`msg="long connection up"`:     1,
		`msg="long connection closed"`: 1,
	} {
		if n := strings.Count(log, line); n != want {
			t.Errorf("%s logged %d times, want %d:\n%s", line, n, want, log)
		}
	}
	for _, s := range []string{secret, "vt-ws", "ticket"} {
		if strings.Contains(log, s) {
			t.Fatalf("log contains %q:\n%s", s, log)
		}
	}
}

// -demo runs the long connection unless its config says webhook, which it then
// serves as before.
func TestDemoDeliveryFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf("feishu: {app_id: cli_x, delivery: webhook}\naccess: {admins: [ou_someone]}\nstore: {path: %q}\n", filepath.Join(dir, "demo.db"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		args    []string
		webhook bool
	}{
		{"default", []string{"-demo"}, false},
		{"config says webhook", []string{"-demo", "-config", cfgPath}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := freeAddr(t)
			var out syncBuffer
			code := make(chan int, 1)
			go func() { code <- run(append(c.args, "-addr", addr), &out) }()
			body := get(t, "http://"+addr+"/healthz", &out)
			if strings.Contains(body, `"long_connection":"up"`) == c.webhook {
				t.Errorf("/healthz: %s", body)
			}
			resp, err := http.Post("http://"+addr+"/webhook/event", "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if (resp.StatusCode != http.StatusNotFound) != c.webhook {
				t.Errorf("POST /webhook/event: %d", resp.StatusCode)
			}
			stopWithSIGTERM(t, code, &out)
		})
	}
}
