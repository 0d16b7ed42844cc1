package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"acsbot/command"
)

// leakMarker is in every secret of the fixtures; envSecrets are recognisable
// values for the environment. Neither may ever appear in an error.
const leakMarker = "LEAKCHECK"

var envSecrets = map[string]string{
	"ACSBOT_FEISHU_APP_SECRET":         "ENVSECRET-app-secret",
	"ACSBOT_FEISHU_VERIFICATION_TOKEN": "ENVSECRET-verification-token",
	"ACSBOT_FEISHU_ENCRYPT_KEY":        "ENVSECRET-encrypt-key",
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// leaves flattens errors.Join trees into the single errors an operator reads.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// keyFirst is the shape every message starts with: a key path, or "config" for
// the file as a whole.
var keyFirst = regexp.MustCompile(`^(config is |` + segment + `(\.` + segment + `)?(\[\d+\])?: )`)

// segment is one key: a plain name, or a quoted odd one.
const segment = `([A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*")`

// checkMessages asserts the contract on an error: one line per rule, each
// starting with its key, and none of secrets anywhere.
func checkMessages(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, e := range leaves(err) {
		msg := e.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("message spans lines: %q", msg)
		}
		if !keyFirst.MatchString(msg) {
			t.Errorf("message does not start with its key: %q", msg)
		}
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks secret %q: %v", s, err)
		}
	}
}

func TestParseValid(t *testing.T) {
	cfg, err := Load("testdata/valid.yaml", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tests := []struct {
		key       string
		got, want any
	}{
		{"server.addr", cfg.Server.Addr, "0.0.0.0:9090"},
		{"feishu.app_id", cfg.Feishu.AppID, "cli_a1b2c3d4e5"},
		{"feishu.app_secret", cfg.Feishu.AppSecret.Value(), "LEAKCHECK-app-secret"},
		{"feishu.delivery", cfg.Feishu.Delivery, "webhook"},
		{"feishu.verification_token", cfg.Feishu.VerificationToken.Value(), "LEAKCHECK-verification-token"},
		{"feishu.encrypt_key", cfg.Feishu.EncryptKey.Value(), "LEAKCHECK-encrypt-key"},
		{"feishu.base_url trailing slash trimmed", cfg.Feishu.BaseURL, "https://open.larksuite.com"},
		{"feishu.monthly_quota", cfg.Feishu.MonthlyQuota, 10000},
		{"acs.user_id_type", cfg.ACS.UserIDType, "open_id"},
		{"acs.cache_ttl", time.Duration(cfg.ACS.CacheTTL), 5 * time.Minute},
		{"bot.language", cfg.Bot.Language, command.EN},
		{"access.admins", strings.Join(cfg.Access.Admins, ","), "ou_admin1,ou_admin2"},
		{"access.chats", strings.Join(cfg.Access.Chats, ","), "oc_facility,oc_hr"},
		{"store.path", cfg.Store.Path, "/var/lib/acsbot/acsbot.db"},
		{"push.timezone", cfg.Push.Timezone, "Europe/Berlin"},
		{"Location", cfg.Location().String(), "Europe/Berlin"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestAccessHelpers(t *testing.T) {
	cfg, err := Load("testdata/valid.yaml", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tests := []struct {
		id          string
		admin, chat bool
	}{
		{"ou_admin1", true, false},
		{"ou_admin2", true, false},
		{"ou_someone", false, false},
		{"oc_facility", false, true},
		{"oc_hr", false, true},
		{"oc_lunch", false, false},
		{"", false, false},
		{"OU_ADMIN1", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := cfg.IsAdmin(tt.id); got != tt.admin {
				t.Errorf("IsAdmin = %v, want %v", got, tt.admin)
			}
			if got := cfg.IsReaderChat(tt.id); got != tt.chat {
				t.Errorf("IsReaderChat = %v, want %v", got, tt.chat)
			}
		})
	}
}

// fixtures maps every rejection fixture in testdata to a fragment of the error it
// must produce. TestFixtures fails on a fixture missing here, so the two cannot
// drift apart.
var fixtures = map[string]string{
	"bad_addr":                   `server.addr: must be host:port like "127.0.0.1:8080", got "localhost"`,
	"bad_addr_port":              `server.addr: port must be a number from 0 to 65535, got "99999"`,
	"missing_app_id":             `feishu.app_id: required`,
	"bad_app_id":                 `feishu.app_id: must start with "cli_", got "a1b2c3d4e5"`,
	"missing_app_secret":         `feishu.app_secret: required; set it here or in ACSBOT_FEISHU_APP_SECRET`,
	"missing_verification_token": `feishu.verification_token: required with delivery "webhook", the bot checks it on every event; set it here or in ACSBOT_FEISHU_VERIFICATION_TOKEN`,
	"bad_delivery":               `feishu.delivery: must be websocket or webhook, got "http"`,
	"bad_base_url_relative":      `feishu.base_url: must be an absolute http(s) URL like "https://open.feishu.cn", got "open.feishu.cn"`,
	"bad_base_url_scheme":        `feishu.base_url: must be an absolute http(s) URL like "https://open.feishu.cn", got "ftp://open.feishu.cn"`,
	"bad_base_url_query":         `feishu.base_url: must not have a query or fragment, got "https://open.feishu.cn/?lang=en"`,
	"bad_base_url_unparsable":    `feishu.base_url: must be an absolute http(s) URL like "https://open.feishu.cn": invalid port ":port" after host`,
	"bad_monthly_quota_negative": `feishu.monthly_quota: must be a whole number of calls, 0 or more (0: no quota known), got -1`,
	"bad_monthly_quota_fraction": `feishu.monthly_quota: line 10: must be a whole number, got a fraction`,
	"bad_monthly_quota_text":     `feishu.monthly_quota: line 10: must be a whole number, got a string`,
	"bad_user_id_type":           `acs.user_id_type: must be one of open_id, union_id, user_id, got "email"`,
	"bad_cache_ttl":              `acs.cache_ttl: must be between 10s and 168h, got "0s"`,
	"bad_cache_ttl_long":         `acs.cache_ttl: must be between 10s and 168h, got "192h0m0s"`,
	"bad_cache_ttl_short":        `acs.cache_ttl: must be between 10s and 168h, got "9s"`,
	"bad_cache_ttl_number":       `acs.cache_ttl: line 12: must be a duration with a unit, like "10m", got a bare number "600"`,
	"bad_cache_ttl_syntax":       `acs.cache_ttl: line 12: must be a duration with a unit, like "10m", got "10 minutes"`,
	"bad_language":               `bot.language: must be zh_cn or en_us, got "fr_fr"`,
	"missing_admins":             `access.admins: at least one admin is required`,
	"bad_admin_empty":            `access.admins[1]: must not be empty`,
	"bad_admin_duplicate":        `access.admins[2]: "ou_admin1" is listed twice (first as access.admins[0])`,
	"bad_admin_prefix":           `access.admins[1]: must start with "ou_" as an open_id does, got "4d7a3c6g"`,
	"bad_admin_union_prefix":     `access.admins[0]: must start with "ou_" as an open_id does, got "on_admin1"`,
	"bad_chat_prefix":            `access.chats[1]: must start with "oc_" as a chat_id does, got "ou_admin1"`,
	"bad_chat_duplicate":         `access.chats[1]: "oc_hr" is listed twice (first as access.chats[0])`,
	"missing_store_path":         `store.path: required`,
	"bad_timezone":               `push.timezone: unknown time zone "Mars/Olympus_Mons"`,
	"bad_timezone_local":         `push.timezone: must be an IANA time zone like "Asia/Shanghai", got "Local"`,
	"unknown_key":                `feishu.encrypt_kee: line 8: unknown key; feishu takes app_id, app_secret, delivery, verification_token, encrypt_key, base_url, monthly_quota`,
	"unknown_section":            `pushes: line 20: unknown key; config takes server, feishu, acs, bot, access, store, push`,
	"duplicate_key":              `acs.user_id_type: line 13: set twice (first at line 11)`,
	"wrong_type_section":         `server: line 2: must be a mapping of addr, got a string`,
	"wrong_type_list":            `access.admins: line 16: must be a list of strings, got a string`,
	"wrong_type_item":            `access.chats[1]: line 17: must be a string, got a mapping`,
	"wrong_type_secret":          `feishu.app_secret: line 6: must be a string, got a list`,
	"wrong_tag_secret":           `feishu.app_secret: line 6: must be a string, got a number`,
	"wrong_type_encrypt_key":     `feishu.encrypt_key: line 8: must be a string, got a mapping`,
	"not_mapping":                `config: line 2: must be a mapping of server, feishu, acs, bot, access, store, push, got a list`,
	"not_yaml":                   `config is not valid YAML: yaml: line `,
	"two_documents":              `config: line 22: a second YAML document starts here; acsbot reads exactly one`,
	"empty":                      `config is empty; it needs at least feishu.app_id`,
	"comments_only":              `config is empty`,
	"null_document":              `config is empty`,
}

func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if name == "valid" {
			continue
		}
		seen[name] = true
		want, ok := fixtures[name]
		if !ok {
			t.Errorf("%s has no expected message in the fixtures table", f)
			continue
		}
		t.Run(name, func(t *testing.T) {
			_, err := Load(f, nil)
			if err == nil {
				t.Fatalf("Load accepted %s, want an error containing %q", f, want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error\n%v\ndoes not contain\n%s", err, want)
			}
			checkMessages(t, err, leakMarker)

			// With every secret also in the environment, a fixture that broke
			// another rule still fails, and still leaks nothing.
			_, err = Load(f, envOf(envSecrets))
			if err == nil {
				if !fixedByEnv[name] {
					t.Errorf("with env secrets, %s was accepted", f)
				}
				return
			}
			if fixedByEnv[name] {
				t.Errorf("with env secrets, %s still fails: %v", f, err)
			}
			checkMessages(t, err, append(slices.Collect(maps.Values(envSecrets)), leakMarker)...)
		})
	}
	for name := range fixtures {
		if !seen[name] {
			t.Errorf("fixtures table names %s, which is not in testdata", name)
		}
	}
}

// fixedByEnv are the fixtures whose only fault is a secret the environment can
// provide.
var fixedByEnv = map[string]bool{"missing_app_secret": true, "missing_verification_token": true}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a wrapped os.ErrNotExist", err)
	}
	if !strings.HasPrefix(err.Error(), "read config: ") {
		t.Errorf("error lacks context: %v", err)
	}
}

// minimal holds only the keys that have no default.
const minimal = `
feishu:
  app_id: cli_min
  app_secret: s
  verification_token: v
access:
  admins: [ou_1]
`

func TestDefaults(t *testing.T) {
	cfg, err := Parse([]byte(minimal), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		key       string
		got, want any
	}{
		{"server.addr", cfg.Server.Addr, "127.0.0.1:8080"},
		{"feishu.base_url", cfg.Feishu.BaseURL, "https://open.feishu.cn"},
		{"feishu.delivery", cfg.Feishu.Delivery, "websocket"},
		{"feishu.monthly_quota", cfg.Feishu.MonthlyQuota, 0},
		{"feishu.encrypt_key", cfg.Feishu.EncryptKey.Value(), ""},
		{"acs.user_id_type", cfg.ACS.UserIDType, "open_id"},
		{"acs.cache_ttl", time.Duration(cfg.ACS.CacheTTL), 24 * time.Hour},
		{"bot.language", cfg.Bot.Language, command.ZH},
		{"access.chats", len(cfg.Access.Chats), 0},
		{"store.path", cfg.Store.Path, "data/acsbot.db"},
		{"push.timezone", cfg.Push.Timezone, "Asia/Shanghai"},
		{"Location", cfg.Location().String(), "Asia/Shanghai"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// TestEmptySectionKeepsDefaults: "push:" with nothing under it is a section the
// operator emptied, not one set to zero.
func TestEmptySectionKeepsDefaults(t *testing.T) {
	cfg, err := Parse([]byte(minimal+"push:\nacs: {}\n"), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if cfg.Push.Timezone != "Asia/Shanghai" || cfg.ACS.UserIDType != "open_id" {
		t.Errorf("defaults lost: push.timezone %q, acs.user_id_type %q", cfg.Push.Timezone, cfg.ACS.UserIDType)
	}
}

func TestEnvOverrides(t *testing.T) {
	const file = `
feishu:
  app_id: cli_env
  app_secret: file-secret
  verification_token: file-token
access:
  admins: [ou_1]
`
	tests := []struct {
		name               string
		env                map[string]string
		secret, token, key string
	}{
		{
			name:   "no environment: the file's values",
			env:    nil,
			secret: "file-secret", token: "file-token", key: "",
		},
		{
			name:   "every variable set: the environment wins",
			env:    envSecrets,
			secret: "ENVSECRET-app-secret", token: "ENVSECRET-verification-token", key: "ENVSECRET-encrypt-key",
		},
		{
			name:   "one variable set: only that one changes",
			env:    map[string]string{"ACSBOT_FEISHU_VERIFICATION_TOKEN": "env-token"},
			secret: "file-secret", token: "env-token", key: "",
		},
		{
			name:   "empty variables do not erase the file's values",
			env:    map[string]string{"ACSBOT_FEISHU_APP_SECRET": "", "ACSBOT_FEISHU_VERIFICATION_TOKEN": ""},
			secret: "file-secret", token: "file-token", key: "",
		},
		{
			name:   "other variables are ignored",
			env:    map[string]string{"ACSBOT_FEISHU_APP_ID": "cli_other", "FEISHU_APP_SECRET": "x"},
			secret: "file-secret", token: "file-token", key: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := envOf(tt.env)
			if tt.env == nil {
				getenv = nil
			}
			cfg, err := Parse([]byte(file), getenv)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := [3]string{cfg.Feishu.AppSecret.Value(), cfg.Feishu.VerificationToken.Value(), cfg.Feishu.EncryptKey.Value()}
			if want := [3]string{tt.secret, tt.token, tt.key}; got != want {
				t.Errorf("secrets = %q, want %q", got, want)
			}
			if cfg.Feishu.AppID != "cli_env" {
				t.Errorf("app_id = %q: only secrets come from the environment", cfg.Feishu.AppID)
			}
		})
	}
}

// TestEnvSatisfiesRequiredSecrets: a file without secrets is valid once the
// environment provides them, which is how the operator is meant to deploy.
func TestEnvSatisfiesRequiredSecrets(t *testing.T) {
	const file = "feishu: {app_id: cli_x}\naccess: {admins: [ou_1]}\n"
	if _, err := Parse([]byte(file), nil); err == nil {
		t.Fatal("accepted a config without secrets")
	}
	cfg, err := Parse([]byte(file), envOf(envSecrets))
	if err != nil {
		t.Fatalf("with env secrets: %v", err)
	}
	if cfg.Feishu.VerificationToken.Value() != "ENVSECRET-verification-token" {
		t.Errorf("verification_token = %q", cfg.Feishu.VerificationToken.Value())
	}
}

func TestStrictDecode(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every fragment must be in the error
	}{
		{
			name: "unknown top-level key",
			yaml: minimal + "log_level: debug\n",
			want: []string{"log_level: line 8: unknown key; config takes server, feishu"},
		},
		{
			name: "unknown keys are all reported at once",
			yaml: minimal + "server: {adr: x, port: 1}\n",
			want: []string{"server.adr: line 8: unknown key", "server.port: line 8: unknown key; server takes addr"},
		},
		{
			name: "key with odd characters is quoted to stay on one line",
			yaml: minimal + "store: {\"pa th\\n\": x}\n",
			want: []string{`store."pa th\n": line 8: unknown key`},
		},
		{
			name: "merge keys are not config keys",
			yaml: minimal + "store: {<<: {path: x}}\n",
			want: []string{`store."<<": line 8: unknown key`},
		},
		{
			name: "a key that is not a name",
			yaml: minimal + "store: {[a]: x}\n",
			want: []string{"store: line 8: a key must be a plain name, got a list"},
		},
		{
			name: "a section set twice",
			yaml: minimal + "feishu: {app_id: cli_y}\n",
			want: []string{"feishu: line 8: set twice (first at line 2)"},
		},
		{
			name: "case matters",
			yaml: minimal + "Store: {path: x}\n",
			want: []string{"Store: line 8: unknown key"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), nil)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
			checkMessages(t, err, leakMarker)
		})
	}
}

// TestAliases: anchors and aliases are plain YAML and decode as written.
func TestAliases(t *testing.T) {
	const file = `
feishu: {app_id: cli_x, app_secret: &s same, verification_token: *s}
access: {admins: &ids [ou_1], chats: [oc_1]}
`
	cfg, err := Parse([]byte(file), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if cfg.Feishu.VerificationToken.Value() != "same" || !cfg.IsAdmin("ou_1") {
		t.Errorf("aliases not followed: token %q, admins %v", cfg.Feishu.VerificationToken.Value(), cfg.Access.Admins)
	}
}

func TestValidateReportsEveryRule(t *testing.T) {
	c := Config{Server: Server{Addr: "nope"}, Feishu: Feishu{BaseURL: "https://x?y"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("zero config validated")
	}
	checkMessages(t, err, leakMarker)
	var keys []string
	for _, e := range leaves(err) {
		key, _, _ := strings.Cut(e.Error(), ":")
		keys = append(keys, key)
	}
	want := []string{
		"server.addr", "feishu.app_id", "feishu.app_secret", "feishu.delivery", "feishu.base_url",
		"acs.user_id_type", "acs.cache_ttl", "bot.language", "store.path", "push.timezone", "access.admins",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("one error per broken rule:\n got %q\nwant %q", keys, want)
	}
}

func TestValidateAddr(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{":8080", true},
		{"127.0.0.1:0", true}, // tests listen on a free port
		{"[::1]:443", true},
		{"localhost:65535", true},
		{"localhost:65536", false},
		{"localhost:-1", false},
		{"localhost:http", false},
		{"127.0.0.1", false},
		{"127.0.0.1:", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			c := Config{Server: Server{Addr: tt.addr}}
			if err := c.checkAddr(); (err == nil) != tt.ok {
				t.Errorf("checkAddr(%q) = %v, want ok %v", tt.addr, err, tt.ok)
			}
		})
	}
}

func TestValidateBaseURL(t *testing.T) {
	tests := []struct {
		in, want string // want "" means rejected
	}{
		{"https://open.feishu.cn", "https://open.feishu.cn"},
		{"https://open.feishu.cn/", "https://open.feishu.cn"},
		{"https://open.feishu.cn///", "https://open.feishu.cn"},
		{"http://127.0.0.1:34567", "http://127.0.0.1:34567"},
		{"http://127.0.0.1:34567/fake/", "http://127.0.0.1:34567/fake"},
		{"https://open.feishu.cn#top", ""},
		{"https://open.feishu.cn?", ""},
		{"//open.feishu.cn", ""},
		{"https://", ""},
		{"http:open.feishu.cn", ""},
		{"ws://open.feishu.cn", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c := Config{Feishu: Feishu{BaseURL: tt.in}}
			err := c.checkBaseURL()
			switch {
			case tt.want == "" && err == nil:
				t.Errorf("accepted %q", tt.in)
			case tt.want != "" && err != nil:
				t.Errorf("rejected %q: %v", tt.in, err)
			case tt.want != "" && c.Feishu.BaseURL != tt.want:
				t.Errorf("normalised to %q, want %q", c.Feishu.BaseURL, tt.want)
			}
		})
	}
}

// TestBaseURLPasswordNotEchoed: a URL is not a Secret, but a password written
// into one must not reach the logs through an error either.
func TestBaseURLPasswordNotEchoed(t *testing.T) {
	for _, in := range []string{"ftp://u:LEAKCHECK@host", "https://u:LEAKCHECK@host/?q", "https://u:LEAKCHECK@host:port/"} {
		t.Run(in, func(t *testing.T) {
			c := Config{Feishu: Feishu{BaseURL: in}}
			err := c.checkBaseURL()
			if err == nil {
				t.Fatal("accepted")
			}
			checkMessages(t, err, leakMarker)
		})
	}
}

// Admins are open ids whatever the directory's id type.
func TestValidateAdminIDs(t *testing.T) {
	tests := []struct {
		idType string
		admins []string
		ok     bool
	}{
		{"open_id", []string{"ou_1"}, true},
		{"open_id", []string{"on_1"}, false},
		{"union_id", []string{"ou_1", "ou_2"}, true},
		{"union_id", []string{"on_1"}, false},
		{"user_id", []string{"ou_1"}, true},
		{"user_id", []string{"4d7a3c6g"}, false},
		{"user_id", []string{"ou_a", "ou_a"}, false},
		{"user_id", []string{""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.idType+"/"+strings.Join(tt.admins, ","), func(t *testing.T) {
			c := Config{ACS: ACS{UserIDType: tt.idType}, Access: Access{Admins: tt.admins}}
			errs := c.checkAdmins()
			if (len(errs) == 0) != tt.ok {
				t.Errorf("checkAdmins = %v, want ok %v", errs, tt.ok)
			}
		})
	}
}

func TestCacheTTLBounds(t *testing.T) {
	tests := []struct {
		ttl time.Duration
		ok  bool
	}{
		{10 * time.Second, true},
		{24 * time.Hour, true},
		{168 * time.Hour, true},
		{10*time.Second - 1, false},
		{168*time.Hour + 1, false},
		{-time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.ttl.String(), func(t *testing.T) {
			c := Config{ACS: ACS{UserIDType: "open_id", CacheTTL: Duration(tt.ttl)}}
			if err := c.checkACS(); (err == nil) != tt.ok {
				t.Errorf("checkACS = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestLocation(t *testing.T) {
	var c Config
	if got := c.Location(); got != time.UTC {
		t.Errorf("unvalidated Location = %v, want UTC rather than nil", got)
	}
	for _, name := range []string{"Asia/Shanghai", "UTC", "America/Argentina/Buenos_Aires"} {
		t.Run(name, func(t *testing.T) {
			c := Config{Push: Push{Timezone: name}}
			if err := c.checkTimezone(); err != nil {
				t.Fatalf("checkTimezone: %v", err)
			}
			if got := c.Location().String(); got != name {
				t.Errorf("Location = %q, want %q", got, name)
			}
		})
	}
}

// TestDeliveryModes: the long connection needs neither the verification token nor
// the encrypt key, and names them when they are set anyway; the webhook needs the
// token and uses both.
func TestDeliveryModes(t *testing.T) {
	const base = "feishu: {app_id: cli_x, app_secret: s%s}\naccess: {admins: [ou_1]}\n"
	tests := []struct {
		name    string
		feishu  string
		env     map[string]string
		ws      bool
		ignored []string
		wantErr string
	}{
		{name: "default: websocket without token or key", ws: true},
		{name: "websocket with token and key", feishu: ", delivery: websocket, verification_token: v, encrypt_key: k",
			ws: true, ignored: []string{"feishu.verification_token", "feishu.encrypt_key"}},
		{name: "websocket with the token from the environment", env: map[string]string{"ACSBOT_FEISHU_VERIFICATION_TOKEN": "v"},
			ws: true, ignored: []string{"feishu.verification_token"}},
		{name: "webhook with token", feishu: ", delivery: webhook, verification_token: v, encrypt_key: k"},
		{name: "webhook without token", feishu: ", delivery: webhook", wantErr: `feishu.verification_token: required with delivery "webhook"`},
		{name: "webhook with the token from the environment", feishu: ", delivery: webhook",
			env: map[string]string{"ACSBOT_FEISHU_VERIFICATION_TOKEN": "v"}},
		{name: "case matters", feishu: ", delivery: WebSocket", wantErr: `feishu.delivery: must be websocket or webhook, got "WebSocket"`},
		{name: "empty", feishu: `, delivery: ""`, wantErr: `feishu.delivery: must be websocket or webhook, got ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(fmt.Sprintf(base, tt.feishu)), envOf(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if cfg.WebSocket() != tt.ws {
				t.Errorf("WebSocket() = %v, want %v", cfg.WebSocket(), tt.ws)
			}
			if got := cfg.Ignored(); !slices.Equal(got, tt.ignored) {
				t.Errorf("Ignored() = %q, want %q", got, tt.ignored)
			}
		})
	}
}
