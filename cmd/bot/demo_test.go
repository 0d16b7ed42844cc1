package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -demo needs no config: it serves the console, /healthz as in production, prints
// the console's URL and stops cleanly on SIGTERM. With -config it keeps its store
// where the config says.
func TestDemoFlag(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	dbPath := filepath.Join(dir, "demo.db")
	cfg := fmt.Sprintf("feishu: {app_id: cli_x}\naccess: {admins: [ou_someone]}\nstore: {path: %q}\nbot: {language: en_us}\n", dbPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ACSBOT_FEISHU_ENCRYPT_KEY", "from-the-environment")
	cases := []struct {
		name   string
		args   []string
		wantDB bool
	}{
		{name: "no config", args: []string{"-demo"}},
		{name: "with config", args: []string{"-demo", "-config", cfgPath}, wantDB: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := freeAddr(t)
			var out syncBuffer
			code := make(chan int, 1)
			go func() { code <- run(append(c.args, "-addr", addr), &out) }()

			if body := get(t, "http://"+addr+"/healthz", &out); !strings.Contains(body, `"ok"`) {
				t.Errorf("/healthz: %s", body)
			}
			if body := get(t, "http://"+addr+"/", &out); !strings.Contains(body, "acsbot") || !strings.Contains(body, "console.js") {
				t.Errorf("console page: %.200s", body)
			}
			if want := "open http://" + addr + "/ in a browser"; !strings.Contains(out.String(), want) {
				t.Errorf("output does not say %q:\n%s", want, out.String())
			}
			stopWithSIGTERM(t, code, &out)
			if _, err := os.Stat(dbPath); (err == nil) != c.wantDB {
				t.Errorf("store at the config's path: exists=%v, want %v", err == nil, c.wantDB)
			}
			if strings.Contains(out.String(), "from-the-environment") {
				t.Errorf("output shows a secret:\n%s", out.String())
			}
		})
	}
}
