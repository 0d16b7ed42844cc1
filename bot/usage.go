package bot

import (
	"context"
	"crypto/sha1"
	"encoding/hex"

	"acsbot/cards"
	"acsbot/command"
	"acsbot/usage"
)

// apiUsage answers /usage: this month's Feishu calls as the meter counted them.
func (b *Bot) apiUsage(_ context.Context, r request) (cards.Card, string, error) {
	return cards.APIUsage(r.lang(), b.meter.Month(), b.dir.EventsMissing()), "ok", nil
}

// WarnQuota messages every admin that this month's counted calls reached 80 % of
// feishu.monthly_quota. The meter calls it once a month, claimed in the store
// first, so a failed message is logged and not tried again: a warning sent twice
// would spend the quota it warns about.
func (b *Bot) WarnQuota(ctx context.Context, m usage.Month) {
	lang := command.Lang(b.cfg.Bot.Language)
	for _, admin := range b.cfg.Access.Admins {
		if err := b.send(ctx, "quota warning", b.cfg.ACS.UserIDType, admin, cards.QuotaWarning(lang, m),
			quotaWarningUUID(m.Month, admin)); err != nil {
			b.log.Warn("could not send the quota warning", "admin", admin, "err", err)
		}
	}
}

// quotaWarningUUID makes the month's warning to one admin idempotent.
func quotaWarningUUID(month, admin string) string {
	sum := sha1.Sum([]byte(month + "\x00" + admin))
	return "q80-" + hex.EncodeToString(sum[:16])
}

// usageStatus is what /healthz tells of the month's calls.
func (b *Bot) usageStatus() map[string]any {
	m := b.meter.Month()
	return map[string]any{
		"month":           m.Month,
		"counted":         m.Counted(),
		"monthly_quota":   m.Quota,
		"quota_exhausted": m.Exhausted,
	}
}
