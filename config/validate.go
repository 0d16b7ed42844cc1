package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"acsbot/command"
)

// Validate checks every key and returns one error per broken rule, joined; each
// message is one line that starts with the key. It also trims base_url's trailing
// slash and builds what Location, IsAdmin and IsReaderChat read, so it must not
// run while those are in use.
func (c *Config) Validate() error {
	errs := []error{
		c.checkAddr(),
		c.checkFeishu(),
		c.checkBaseURL(),
		c.checkACS(),
		c.checkLanguage(),
		c.checkStore(),
		c.checkTimezone(),
	}
	errs = append(errs, c.checkAdmins()...)
	errs = append(errs, c.checkChats()...)
	return errors.Join(errs...)
}

func (c *Config) checkAddr() error {
	_, port, err := net.SplitHostPort(c.Server.Addr)
	if err != nil {
		return fmt.Errorf(`server.addr: must be host:port like "127.0.0.1:8080", got %q`, c.Server.Addr)
	}
	// Port 0 is kept valid: it asks the kernel for a free port, which tests use.
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("server.addr: port must be a number from 0 to 65535, got %q", port)
	}
	return nil
}

func (c *Config) checkFeishu() error {
	var errs []error
	switch {
	case c.Feishu.AppID == "":
		errs = append(errs, errors.New(`feishu.app_id: required, the app's id "cli_..."`))
	case !strings.HasPrefix(c.Feishu.AppID, "cli_"):
		errs = append(errs, fmt.Errorf(`feishu.app_id: must start with "cli_", got %q`, c.Feishu.AppID))
	}
	if c.Feishu.AppSecret == "" {
		errs = append(errs, fmt.Errorf("feishu.app_secret: required; set it here or in %s", envAppSecret))
	}
	switch c.Feishu.Delivery {
	case DeliveryWebSocket:
	case DeliveryWebhook:
		if c.Feishu.VerificationToken == "" {
			errs = append(errs, fmt.Errorf("feishu.verification_token: required with delivery %q, the bot checks it on every event; set it here or in %s",
				DeliveryWebhook, envVerificationToken))
		}
	default:
		errs = append(errs, fmt.Errorf("feishu.delivery: must be %s or %s, got %q", DeliveryWebSocket, DeliveryWebhook, c.Feishu.Delivery))
	}
	if c.Feishu.MonthlyQuota < 0 {
		errs = append(errs, fmt.Errorf("feishu.monthly_quota: must be a whole number of calls, 0 or more (0: no quota known), got %d",
			c.Feishu.MonthlyQuota))
	}
	return errors.Join(errs...)
}

func (c *Config) checkBaseURL() error {
	const want = `feishu.base_url: must be an absolute http(s) URL like "https://open.feishu.cn"`
	raw := c.Feishu.BaseURL
	if raw == "" {
		return errors.New(want + ", got nothing")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, which may hold a password; its Err
		// says what is wrong without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %v", want, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s, got %q", want, u.Redacted())
	}
	// The SDK appends "/open-apis/..." to the base URL, so a query or fragment
	// would end up in the middle of every request URL.
	if strings.ContainsAny(raw, "?#") {
		return fmt.Errorf("feishu.base_url: must not have a query or fragment, got %q", u.Redacted())
	}
	c.Feishu.BaseURL = strings.TrimRight(raw, "/")
	return nil
}

// idPrefix returns the prefix of the ids of an acs.user_id_type, and whether the
// type is known; a user_id is chosen by the tenant and has none.
func idPrefix(userIDType string) (string, bool) {
	switch userIDType {
	case "open_id":
		return "ou_", true
	case "union_id":
		return "on_", true
	case "user_id":
		return "", true
	}
	return "", false
}

// maxCacheTTL is a week: the longest a stored snapshot may go without a full read.
const maxCacheTTL = 168 * time.Hour

func (c *Config) checkACS() error {
	var errs []error
	if _, ok := idPrefix(c.ACS.UserIDType); !ok {
		errs = append(errs, fmt.Errorf("acs.user_id_type: must be one of open_id, union_id, user_id, got %q", c.ACS.UserIDType))
	}
	// Below 10s the bot would read the whole directory nearly all the time; above a
	// week, a change no event announced could stay wrong for longer than an admin
	// would believe. Events keep the snapshot current in between.
	if ttl := time.Duration(c.ACS.CacheTTL); ttl < 10*time.Second || ttl > maxCacheTTL {
		errs = append(errs, fmt.Errorf("acs.cache_ttl: must be between 10s and 168h, got %q", c.ACS.CacheTTL))
	}
	return errors.Join(errs...)
}

func (c *Config) checkLanguage() error {
	if c.Bot.Language != command.ZH && c.Bot.Language != command.EN {
		return fmt.Errorf("bot.language: must be %s or %s, got %q", command.ZH, command.EN, c.Bot.Language)
	}
	return nil
}

func (c *Config) checkAdmins() []error {
	if len(c.Access.Admins) == 0 {
		return []error{errors.New("access.admins: at least one admin is required")}
	}
	// Admins are open ids whatever acs.user_id_type says: every event and card
	// callback names its sender by open id, and a callback carries no union id.
	var errs []error
	c.admins, errs = idSet("access.admins", c.Access.Admins, "ou_", "as an open_id does")
	return errs
}

func (c *Config) checkChats() []error {
	var errs []error
	c.chats, errs = idSet("access.chats", c.Access.Chats, "oc_", "as a chat_id does")
	return errs
}

// idSet checks a list of ids, each non-empty, starting with prefix and listed
// once, and returns them as a set.
func idSet(key string, ids []string, prefix, why string) (map[string]struct{}, []error) {
	set := make(map[string]struct{}, len(ids))
	first := make(map[string]int, len(ids))
	var errs []error
	for i, id := range ids {
		switch j, dup := first[id]; {
		case id == "":
			errs = append(errs, fmt.Errorf("%s[%d]: must not be empty", key, i))
		case !strings.HasPrefix(id, prefix):
			errs = append(errs, fmt.Errorf("%s[%d]: must start with %q %s, got %q", key, i, prefix, why, id))
		case dup:
			errs = append(errs, fmt.Errorf("%s[%d]: %q is listed twice (first as %s[%d])", key, i, id, key, j))
		default:
			first[id] = i
			set[id] = struct{}{}
		}
	}
	return set, errs
}

func (c *Config) checkStore() error {
	if c.Store.Path == "" {
		return errors.New("store.path: required, the SQLite database file")
	}
	return nil
}

func (c *Config) checkTimezone() error {
	name := c.Push.Timezone
	// LoadLocation takes "" for UTC and "Local" for the host's zone; neither is a
	// name, and "Local" would make the push time depend on the host.
	if name == "" || name == "Local" {
		return fmt.Errorf(`push.timezone: must be an IANA time zone like "Asia/Shanghai", got %q`, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return fmt.Errorf(`push.timezone: unknown time zone %q; use an IANA name like "Asia/Shanghai"`, name)
	}
	c.loc = loc
	return nil
}
