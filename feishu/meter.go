package feishu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"acsbot/usage"
)

// chatNameTTL is how long a chat's name is kept: a renamed chat shows its old
// name on /subscriptions for at most a day, and each look-up costs a counted call.
const chatNameTTL = 24 * time.Hour

// maxMeteredBody bounds the answer read to find its code: an ACS page of 50 users is
// a few KB, a message answer carries the card (up to 30 KB).
const maxMeteredBody = 8 << 20

// metered reports resp to the meter when it is a success as Feishu counts one: an
// answer below 400 whose envelope says code 0. The body is read to see the code
// and handed on unchanged.
func (d statusDoer) metered(req *http.Request, resp *http.Response) (*http.Response, error) {
	if d.meter == nil {
		return resp, nil
	}
	kind, ok := usage.Of(req.Method, req.URL.Path)
	if !ok {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMeteredBody))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read feishu answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var env struct {
		Code *int `json:"code"`
	}
	if json.Unmarshal(body, &env) == nil && env.Code != nil && *env.Code == 0 {
		d.meter.Record(kind)
	}
	return resp, nil
}
