package app

import (
	"context"
	"log/slog"

	"acsbot/feishu"
	"acsbot/store"
)

// botOpenID is the bot's own open_id. Feishu is asked once per app and the answer
// kept in the store: each ask is a call Feishu counts against the monthly quota, and
// an app's bot keeps its open_id. A store that cannot keep it costs a call at the
// next start, nothing more.
func botOpenID(ctx context.Context, st *store.Store, fc *feishu.Client, appID string, log *slog.Logger) (string, error) {
	id, ok, err := st.BotOpenID(ctx, appID)
	if err != nil {
		log.WarnContext(ctx, "could not read the bot's stored open_id; asking Feishu", "err", err)
	}
	if ok {
		return id, nil
	}
	id, err = fc.BotOpenID(ctx)
	if err != nil {
		return "", err
	}
	if err := st.SaveBotOpenID(ctx, appID, id); err != nil {
		log.WarnContext(ctx, "could not store the bot's open_id; the next start asks Feishu again", "err", err)
	}
	return id, nil
}
