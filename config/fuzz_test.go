package config

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzParse: no input makes Parse panic; an accepted config passes Validate
// again unchanged and its sets agree with its lists; a rejected one is told in
// one-line messages that start with a key and never repeat a secret.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	files = append(files, examplePath)
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("feishu: {app_id: cli_x, app_secret: &s [x, *s]}\n"))
	secrets := slices.Collect(maps.Values(envSecrets))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, envOf(envSecrets))
		if err != nil {
			checkMessages(t, err, secrets...)
			return
		}
		if cfg == nil {
			t.Fatal("nil config and nil error")
		}
		before := cfg.Feishu.BaseURL
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
		if cfg.Feishu.BaseURL != before {
			t.Errorf("Validate is not idempotent: base_url %q became %q", before, cfg.Feishu.BaseURL)
		}
		for _, id := range cfg.Access.Admins {
			if !cfg.IsAdmin(id) {
				t.Errorf("admin %q not in the set", id)
			}
		}
		for _, id := range cfg.Access.Chats {
			if !cfg.IsReaderChat(id) {
				t.Errorf("chat %q not in the set", id)
			}
		}
		if cfg.Location() == nil {
			t.Error("nil location")
		}
	})
}
