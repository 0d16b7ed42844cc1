// Package config loads acsbot's YAML configuration: defaults first, then a strict
// decode (an unknown key is an error, because a misspelt key would otherwise be
// silently ignored), then secrets from the environment, then one validation rule
// per key. Secrets are a type that prints redacted wherever it is printed.
package config

import (
	"fmt"
	"os"
	"time"

	// The bot is deployed as one binary on hosts that may lack /usr/share/zoneinfo;
	// embedding the database keeps push.timezone working there.
	_ "time/tzdata"

	"acsbot/command"
)

// Config is the whole configuration. Its YAML keys are a fixed external contract
// (see config.example.yaml).
type Config struct {
	Server Server `yaml:"server"`
	Feishu Feishu `yaml:"feishu"`
	ACS    ACS    `yaml:"acs"`
	Bot    Bot    `yaml:"bot"`
	Access Access `yaml:"access"`
	Store  Store  `yaml:"store"`
	Push   Push   `yaml:"push"`

	// Built by Validate, so that lookups on every message are O(1) and the
	// location is loaded once.
	admins map[string]struct{}
	chats  map[string]struct{}
	loc    *time.Location
}

// Server is the HTTP server's configuration.
type Server struct {
	// Addr is the host:port the webhook, card callback, /healthz and /metrics
	// listen on; port 0 picks a free port.
	Addr string `yaml:"addr"`
}

// Feishu is the app's credentials and where the open platform is.
type Feishu struct {
	// AppID is the self-built app's id, "cli_...".
	AppID string `yaml:"app_id"`
	// AppSecret buys the tenant access token and opens the long connection;
	// ACSBOT_FEISHU_APP_SECRET wins over it.
	AppSecret Secret `yaml:"app_secret"`
	// Delivery is how events and card callbacks reach the bot: DeliveryWebSocket
	// (the bot dials out; no public URL) or DeliveryWebhook (Feishu posts to it).
	Delivery string `yaml:"delivery"`
	// VerificationToken is compared with the token every webhook event carries,
	// which the SDK does not do for ordinary events; webhook mode only.
	// ACSBOT_FEISHU_VERIFICATION_TOKEN wins over it.
	VerificationToken Secret `yaml:"verification_token"`
	// EncryptKey decrypts webhook events and checks their signature; empty when
	// they arrive in plain text and unsigned; webhook mode only.
	// ACSBOT_FEISHU_ENCRYPT_KEY wins over it.
	EncryptKey Secret `yaml:"encrypt_key"`
	// BaseURL has no trailing slash once validated: the SDK appends "/open-apis/...".
	BaseURL string `yaml:"base_url"`
	// MonthlyQuota is how many counted API calls the tenant may make a calendar
	// month (10000 on the free edition, shared by all its self-built apps); 0 means
	// none is known. When set, /usage measures against it, admins are warned at
	// 80 % and a reminder round that would not fit is refused.
	MonthlyQuota int `yaml:"monthly_quota"`
}

// ACS is how the access-control user list is read.
type ACS struct {
	// UserIDType is open_id, union_id or user_id: the id namespace of the ACS list
	// and of access.admins.
	UserIDType string `yaml:"user_id_type"`
	// CacheTTL is how old a stored directory snapshot may grow before it is read in
	// full again; update events keep it current in between.
	CacheTTL Duration `yaml:"cache_ttl"`
}

// Bot is how the bot talks.
type Bot struct {
	// Language is used for slash commands and pushes; otherwise the bot answers in
	// the language it was asked in.
	Language command.Lang `yaml:"language"`
}

// Access is who may ask the bot what.
type Access struct {
	// Admins may run every command, anywhere.
	Admins []string `yaml:"admins"`
	// Chats are the chats whose members may run the read-only commands.
	Chats []string `yaml:"chats"`
}

// Store is where the bot keeps its state.
type Store struct {
	// Path is the SQLite database file.
	Path string `yaml:"path"`
}

// Push is the daily summary's configuration.
type Push struct {
	// Timezone is the IANA name the subscription times (HH:MM) are read in.
	Timezone string `yaml:"timezone"`
}

// The environment variables that override the secrets, so that they need not be
// written in a file.
const (
	envAppSecret         = "ACSBOT_FEISHU_APP_SECRET"
	envVerificationToken = "ACSBOT_FEISHU_VERIFICATION_TOKEN"
	envEncryptKey        = "ACSBOT_FEISHU_ENCRYPT_KEY"
)

// The values of feishu.delivery.
const (
	// DeliveryWebSocket is Feishu's long connection: the bot dials out with its app
	// id and secret, so it needs no public URL, token or encrypt key.
	DeliveryWebSocket = "websocket"
	// DeliveryWebhook is Feishu posting events and callbacks to /webhook/*.
	DeliveryWebhook = "webhook"
)

// Default returns the configuration used for every key the file leaves out.
func Default() Config {
	return Config{
		Server: Server{Addr: "127.0.0.1:8080"},
		Feishu: Feishu{Delivery: DeliveryWebSocket, BaseURL: "https://open.feishu.cn"},
		ACS:    ACS{UserIDType: "open_id", CacheTTL: Duration(24 * time.Hour)},
		Bot:    Bot{Language: command.ZH},
		Store:  Store{Path: "data/acsbot.db"},
		Push:   Push{Timezone: "Asia/Shanghai"},
	}
}

// Parse builds a Config from YAML: defaults, a strict decode, the ACSBOT_FEISHU_*
// secrets from getenv (a non-empty value wins over the file; getenv may be nil),
// then Validate. Every error names the key it is about, and none contains a secret.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	root, err := document(data)
	if err != nil {
		return nil, err
	}
	c := Default()
	if err := decode(root, &c); err != nil {
		return nil, err
	}
	if getenv != nil {
		c.applyEnv(getenv)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Load reads the file at path and parses it as Parse does.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, getenv)
}

func (c *Config) applyEnv(getenv func(string) string) {
	for _, e := range []struct {
		name string
		dst  *Secret
	}{
		{envAppSecret, &c.Feishu.AppSecret},
		{envVerificationToken, &c.Feishu.VerificationToken},
		{envEncryptKey, &c.Feishu.EncryptKey},
	} {
		if v := getenv(e.name); v != "" {
			*e.dst = Secret(v)
		}
	}
}

// WebSocket reports whether events come over the long connection.
func (c *Config) WebSocket() bool { return c.Feishu.Delivery == DeliveryWebSocket }

// Ignored lists the keys set (in the file or the environment) that the chosen
// feishu.delivery does not use, so the bot can say once that it ignores them.
func (c *Config) Ignored() []string {
	if !c.WebSocket() {
		return nil // the webhook uses every key the long connection does
	}
	var keys []string
	if c.Feishu.VerificationToken != "" {
		keys = append(keys, "feishu.verification_token")
	}
	if c.Feishu.EncryptKey != "" {
		keys = append(keys, "feishu.encrypt_key")
	}
	return keys
}

// Location is the loaded push.timezone. It is UTC on a Config that Validate has
// not accepted, so that a caller never gets a nil location.
func (c *Config) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// IsAdmin reports whether id is listed in access.admins.
func (c *Config) IsAdmin(id string) bool {
	_, ok := c.admins[id]
	return ok
}

// IsReaderChat reports whether chatID is listed in access.chats, whose members may
// run the read-only commands.
func (c *Config) IsReaderChat(chatID string) bool {
	_, ok := c.chats[chatID]
	return ok
}
