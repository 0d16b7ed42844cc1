package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func secretsOf(c *Config) []Secret {
	return []Secret{c.Feishu.AppSecret, c.Feishu.VerificationToken, c.Feishu.EncryptKey}
}

// printers are every way a Config may end up in a log or an error, each with
// the redacted text it must show, so that a printer that drops the field
// altogether does not pass for one that redacts it.
var printers = []struct {
	name  string
	print func(cfg *Config) (string, error)
	want  string
}{
	{"fmt %v", func(c *Config) (string, error) { return fmt.Sprintf("%v", c), nil }, " [redacted] "},
	{"fmt %+v", func(c *Config) (string, error) { return fmt.Sprintf("%+v", *c), nil }, "AppSecret:[redacted]"},
	{"fmt %#v", func(c *Config) (string, error) { return fmt.Sprintf("%#v", *c), nil }, `AppSecret:"[redacted]"`},
	// The secrets alone: vet refuses %s and %q of the feishu section, which holds a number.
	{"fmt %s", func(c *Config) (string, error) { return fmt.Sprintf("%s", secretsOf(c)), nil }, " [redacted] "},
	{"fmt %q", func(c *Config) (string, error) { return fmt.Sprintf("%q", secretsOf(c)), nil }, `"[redacted]"`},
	{"fmt %x", func(c *Config) (string, error) { return fmt.Sprintf("%x", c.Feishu), nil }, "5b7265646163746564"},
	{"fmt %10.3s", func(c *Config) (string, error) { return fmt.Sprintf("%10.3s", c.Feishu.AppSecret), nil }, "       [re"},
	{"fmt %d", func(c *Config) (string, error) { return fmt.Sprintf("%d", c.Feishu.AppSecret), nil }, "%!d(string=[redacted])"},
	{"json", func(c *Config) (string, error) {
		b, err := json.Marshal(c)
		return string(b), err
	}, `"VerificationToken":"[redacted]"`},
	{"yaml", func(c *Config) (string, error) {
		b, err := yaml.Marshal(c)
		return string(b), err
	}, "encrypt_key: '[redacted]'"},
	{"slog text", func(c *Config) (string, error) {
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("loaded", "config", c, "secret", c.Feishu.EncryptKey)
		return buf.String(), nil
	}, "secret=[redacted]"},
	{"slog text whole config", func(c *Config) (string, error) {
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("loaded", "config", c)
		return buf.String(), nil
	}, "EncryptKey:[redacted]"},
	{"slog json", func(c *Config) (string, error) {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("loaded", "config", c, slog.Any("secret", c.Feishu.AppSecret))
		return buf.String(), nil
	}, `"AppSecret":"[redacted]"`},
	{"slog group", func(c *Config) (string, error) {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("loaded", slog.Group("feishu", "token", c.Feishu.VerificationToken))
		return buf.String(), nil
	}, `"token":"[redacted]"`},
}

func TestRedaction(t *testing.T) {
	cfg, err := Load("testdata/valid.yaml", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, p := range printers {
		t.Run(p.name, func(t *testing.T) {
			out, err := p.print(cfg)
			if err != nil {
				t.Fatalf("print: %v", err)
			}
			if strings.Contains(out, leakMarker) {
				t.Errorf("secret printed:\n%s", out)
			}
			if !strings.Contains(out, p.want) {
				t.Errorf("output lacks %q:\n%s", p.want, out)
			}
		})
	}
}

// TestRedactedYAMLRoundTrip: the YAML an operator may dump from a loaded config
// reads back with the same keys, secrets aside.
func TestRedactedYAMLRoundTrip(t *testing.T) {
	cfg, err := Load("testdata/valid.yaml", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := Parse(out, nil)
	if err != nil {
		t.Fatalf("Parse of the dump: %v\n%s", err, out)
	}
	if back.Feishu.AppSecret.Value() != "[redacted]" {
		t.Errorf("dumped app_secret = %q, want the redacted form", back.Feishu.AppSecret.Value())
	}
	got := []any{back.Server, back.Feishu.AppID, back.Feishu.BaseURL, back.ACS, back.Bot, back.Access, back.Store, back.Push}
	want := []any{cfg.Server, cfg.Feishu.AppID, cfg.Feishu.BaseURL, cfg.ACS, cfg.Bot, cfg.Access, cfg.Store, cfg.Push}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the config:\n got %v\nwant %v", got, want)
	}
}

func TestSecret(t *testing.T) {
	tests := []struct {
		name   string
		secret Secret
		shown  string
		yaml   string
	}{
		{"set", "hunter2", "[redacted]", "'[redacted]'"},
		{"empty shows as unset", "", "", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.secret
			if s.Value() != string(tt.secret) {
				t.Errorf("Value = %q, want the real value", s.Value())
			}
			j, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			y, err := yaml.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{
				"String":   s.String(),
				"GoString": s.GoString(),
				"%v":       fmt.Sprintf("%v", s),
				"%s":       fmt.Sprintf("%s", s),
				"%q":       fmt.Sprintf("%q", s),
				"%#v":      fmt.Sprintf("%#v", s),
				"json":     string(j),
				"yaml":     strings.TrimSpace(string(y)),
				"LogValue": s.LogValue().String(),
			}
			quoted := fmt.Sprintf("%q", tt.shown)
			want := map[string]string{
				"String": tt.shown, "GoString": quoted, "%v": tt.shown, "%s": tt.shown, "%q": quoted,
				"%#v": quoted, "json": quoted, "LogValue": tt.shown,
				"yaml": tt.yaml,
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %q, want %q", k, got[k], w)
				}
			}
		})
	}
}

func TestDurationYAML(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{`"10m"`, 10 * time.Minute, ""},
		{`10m`, 10 * time.Minute, ""},
		{`1h30m`, 90 * time.Minute, ""},
		{`"250ms"`, 250 * time.Millisecond, ""},
		{`-5s`, -5 * time.Second, ""}, // parsed; the range check is Validate's
		{`~`, 0, ""},                  // null leaves zero for Validate to report
		{`600`, 0, `must be a duration with a unit, like "10m", got a bare number "600"`},
		{`1.5`, 0, `got a bare number "1.5"`},
		{`"600"`, 0, `got "600"`},
		{`ten minutes`, 0, `got "ten minutes"`},
		{`true`, 0, `got a boolean`},
		{`[10m]`, 0, `got a list`},
		{`{m: 10}`, 0, `got a mapping`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v struct {
				D Duration `yaml:"d"`
			}
			err := yaml.Unmarshal([]byte("d: "+tt.in), &v)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if time.Duration(v.D) != tt.want {
				t.Errorf("got %v, want %v", time.Duration(v.D), tt.want)
			}
			out, err := yaml.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var back struct {
				D Duration `yaml:"d"`
			}
			if err := yaml.Unmarshal(out, &back); err != nil || back.D != v.D {
				t.Errorf("round trip %q: got %v, %v", out, back.D, err)
			}
		})
	}
}
