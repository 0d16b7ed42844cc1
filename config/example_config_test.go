package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const examplePath = "../config.example.yaml"

// TestExampleLoads: the example is a working config once the secrets come from
// the environment, as the operator is told to provide them.
func TestExampleLoads(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{name: "secrets from the environment", env: envSecrets},
		{
			name:    "secrets missing",
			env:     nil,
			wantErr: []string{"feishu.app_secret: required"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(examplePath, envOf(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if cfg.Feishu.AppSecret.Value() != envSecrets["ACSBOT_FEISHU_APP_SECRET"] {
					t.Errorf("app_secret = %q, want the environment's", cfg.Feishu.AppSecret.Value())
				}
				return
			}
			if err == nil {
				t.Fatal("the example loaded without secrets")
			}
			if n := len(leaves(err)); n != len(tt.wantErr) {
				t.Errorf("%d errors, want %d: %v", n, len(tt.wantErr), err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %v lacks %q", err, w)
				}
			}
		})
	}
}

// TestExampleListsEveryKey: the example documents every key, each with a
// comment, and nothing that is not a key.
func TestExampleListsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	root, err := document(data)
	if err != nil {
		t.Fatalf("document: %v", err)
	}
	got := map[string]bool{} // key path → has a comment
	for i := 0; i+1 < len(root.Content); i += 2 {
		section := root.Content[i+1]
		for j := 0; j+1 < len(section.Content); j += 2 {
			k := section.Content[j]
			got[root.Content[i].Value+"."+k.Value] = strings.TrimSpace(k.HeadComment) != ""
		}
	}
	var want []string
	sections, names := yamlFields(reflect.TypeFor[Config]())
	for _, s := range names {
		_, keys := yamlFields(reflect.TypeFor[Config]().Field(sections[s]).Type)
		for _, k := range keys {
			want = append(want, s+"."+k)
		}
	}
	for _, key := range want {
		t.Run(key, func(t *testing.T) {
			commented, ok := got[key]
			if !ok {
				t.Fatal("missing from config.example.yaml")
			}
			if !commented {
				t.Error("has no comment saying what it is")
			}
		})
	}
	for key := range got {
		if !slices.Contains(want, key) {
			t.Errorf("config.example.yaml has %s, which is not a key", key)
		}
	}
}

// TestExampleShowsDefaults: every key with a default is set to it in the
// example, and its comment states it, so that the two cannot drift apart.
func TestExampleShowsDefaults(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, envOf(envSecrets))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	d := Default()
	tests := []struct {
		key        string
		got, want  any
		commentSay string
	}{
		{"server.addr", cfg.Server.Addr, d.Server.Addr, `Default: "127.0.0.1:8080"`},
		{"feishu.base_url", cfg.Feishu.BaseURL, d.Feishu.BaseURL, `Default: "https://open.feishu.cn"`},
		{"feishu.monthly_quota", cfg.Feishu.MonthlyQuota, d.Feishu.MonthlyQuota, "Default: 0"},
		{"acs.user_id_type", cfg.ACS.UserIDType, d.ACS.UserIDType, `Default: "open_id"`},
		{"acs.cache_ttl", cfg.ACS.CacheTTL, d.ACS.CacheTTL, `Default: "24h"`},
		{"bot.language", cfg.Bot.Language, d.Bot.Language, `Default: "zh_cn"`},
		{"store.path", cfg.Store.Path, d.Store.Path, `Default: "data/acsbot.db"`},
		{"push.timezone", cfg.Push.Timezone, d.Push.Timezone, `Default: "Asia/Shanghai"`},
		{"feishu.encrypt_key", cfg.Feishu.EncryptKey.Value(), envSecrets["ACSBOT_FEISHU_ENCRYPT_KEY"], "default empty"},
		{"access.chats", len(cfg.Access.Chats), 0, "Default: none"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("example sets %v, default is %v", tt.got, tt.want)
			}
			section, key, _ := strings.Cut(tt.key, ".")
			if c := commentOf(doc.Content[0], section, key); !strings.Contains(c, tt.commentSay) {
				t.Errorf("comment does not say %q:\n%s", tt.commentSay, c)
			}
		})
	}
}

func commentOf(root *yaml.Node, section, key string) string {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != section {
			continue
		}
		s := root.Content[i+1]
		for j := 0; j+1 < len(s.Content); j += 2 {
			if s.Content[j].Value == key {
				return s.Content[j].HeadComment
			}
		}
	}
	return ""
}

// TestExampleNamesEnvironment: each secret's comment names the variable that
// overrides it.
func TestExampleNamesEnvironment(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for key, env := range map[string]string{
		"app_secret":         envAppSecret,
		"verification_token": envVerificationToken,
		"encrypt_key":        envEncryptKey,
	} {
		t.Run(key, func(t *testing.T) {
			if c := commentOf(doc.Content[0], "feishu", key); !strings.Contains(c, "Environment: "+env) {
				t.Errorf("comment does not name %s:\n%s", env, c)
			}
		})
	}
}
