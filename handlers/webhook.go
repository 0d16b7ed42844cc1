package handlers

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
)

// maxBody is the largest event accepted, by either way in. Feishu events are a few KB.
const maxBody = 1 << 20

// The replay window for signed requests: Feishu's last retry comes about 7.1 h after
// the first delivery, so 12 h outlasts it while staying inside the dedupe retention.
const (
	maxSignatureAge  = 12 * time.Hour
	maxSignatureSkew = 5 * time.Minute
)

// verdict travels in the request context through the SDK dispatcher, so the route can
// tell our handlers' refusals apart from the SDK's own failures without parsing its
// error strings.
type verdict struct {
	reached bool   // one of our handlers ran
	reason  string // why it refused the request; "" when it accepted it
}

type verdictKey struct{}

func verdictFrom(ctx context.Context) *verdict {
	if v, ok := ctx.Value(verdictKey{}).(*verdict); ok {
		return v
	}
	return &verdict{}
}

var errRefused = errors.New("event refused")

// refuse marks the request as refused for reason; the handler returns the error.
// An event from the long connection has no request to mark: it is counted here,
// and the SDK logs the error, reason included, and acks the frame with a 500.
func (s *Server) refuse(ctx context.Context, reason string) error {
	v, ok := ctx.Value(verdictKey{}).(*verdict)
	if !ok {
		s.metrics.EventsRejected.WithLabelValues(reason).Inc()
		return fmt.Errorf("%w: %s", errRefused, reason)
	}
	v.reached = true
	v.reason = reason
	return errRefused
}

// webhook serves both the event and the card callback URL: the SDK dispatcher tells
// them apart by the body. It checks what the SDK does not (size, replay window), hands
// the body to the dispatcher, and turns any failure into a 4xx with a reason.
func (s *Server) webhook(c *gin.Context) {
	// A declared oversize body is refused before a byte of it is read; an undeclared
	// one (chunked) is cut at the limit, and net/http then closes the connection
	// rather than drain the rest.
	if c.Request.ContentLength > maxBody {
		s.reject(c, http.StatusRequestEntityTooLarge, "too_large", "")
		return
	}
	// Feishu always posts JSON. Anything else is not Feishu, and refusing it keeps a
	// browser's cross-site form post (text/plain, no preflight) out of the dispatcher.
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/json" {
		s.reject(c, http.StatusUnsupportedMediaType, "content_type", "")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.reject(c, http.StatusRequestEntityTooLarge, "too_large", "")
			return
		}
		s.reject(c, http.StatusBadRequest, "unreadable", "")
		return
	}
	signed := false
	if key := s.cfg.Feishu.EncryptKey.Value(); key != "" {
		switch reason := s.checkSignature(c.Request.Header, body, key); reason {
		case "":
			signed = true
		case "unsigned":
			// Feishu does not sign url_verification; the dispatcher lets only that through.
		default:
			s.reject(c, http.StatusUnauthorized, reason, "")
			return
		}
	}

	v := &verdict{}
	ctx := context.WithValue(c.Request.Context(), verdictKey{}, v)
	resp := s.dispatcher.Handle(ctx, &larkevent.EventReq{Header: c.Request.Header, Body: body, RequestURI: c.Request.RequestURI})
	switch {
	case resp.StatusCode == http.StatusOK && !v.reached && bytes.HasPrefix(resp.Body, []byte(challengePrefix)):
		// The SDK prints the challenge into its answer unescaped: a quote in it would
		// end the string and let the sender append JSON of its own. Answer it encoded.
		challenge := bytes.TrimSuffix(bytes.TrimPrefix(resp.Body, []byte(challengePrefix)), []byte(challengeSuffix))
		c.JSON(http.StatusOK, gin.H{"challenge": string(challenge)})
	case resp.StatusCode == http.StatusOK && !v.reached:
		// An event type the bot does not handle. Feishu needs only the 200; the SDK's
		// own answer would echo the type, unescaped, into its JSON.
		s.metrics.EventsReceived.WithLabelValues("unhandled").Inc()
		c.JSON(http.StatusOK, gin.H{"msg": "ignored"})
	case resp.StatusCode == http.StatusOK:
		for k, vs := range resp.Header {
			for _, hv := range vs {
				c.Writer.Header().Add(k, hv)
			}
		}
		c.Status(http.StatusOK)
		_, _ = c.Writer.Write(resp.Body)
	case v.reason == "token" || v.reason == "app_id":
		s.reject(c, http.StatusForbidden, v.reason, "")
	case v.reason != "":
		s.reject(c, http.StatusBadRequest, v.reason, "")
	case v.reached:
		// Our handler failed for a reason of its own: a 500 makes Feishu retry later.
		c.JSON(http.StatusInternalServerError, gin.H{"msg": "internal error"})
	case s.cfg.Feishu.EncryptKey.Value() != "" && !signed:
		// Unsigned and not a url_verification with the right token.
		s.reject(c, http.StatusUnauthorized, "unsigned", "")
	default:
		s.reject(c, http.StatusBadRequest, "malformed", "")
	}
}

// checkSignature verifies Feishu's signature headers with the SDK's algorithm and
// refuses replays. It returns "" for a good signature, "unsigned" when there is none,
// or the reason to refuse.
func (s *Server) checkSignature(h http.Header, body []byte, key string) string {
	ts, nonce, sig := h.Get(larkevent.EventRequestTimestamp), h.Get(larkevent.EventRequestNonce), h.Get(larkevent.EventSignature)
	if ts == "" && sig == "" {
		return "unsigned"
	}
	want := larkevent.Signature(ts, nonce, key, string(body))
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
		return "signature"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "signature"
	}
	age := s.now().Sub(time.Unix(sec, 0))
	if age > maxSignatureAge || age < -maxSignatureSkew {
		return "replay"
	}
	return ""
}

// The SDK's answer to a url_verification, the one success that reaches none of our
// handlers, is the challenge between these (larkevent.ChallengeResponseFormat).
const (
	challengePrefix = `{"challenge":"`
	challengeSuffix = `"}`
)

// checkHeader compares a webhook event's verification token with ours, which the
// SDK does only for url_verification, and any event's app id with ours, so an event
// meant for another app is not acted on even if it shares the token. The long
// connection authenticated the app when it opened and Feishu may leave the token
// out there, so only the app id is checked on it. It returns the reason to refuse
// the event, "" when it is ours.
func (s *Server) checkHeader(h *larkevent.EventHeader) string {
	switch {
	case h == nil && s.cfg.WebSocket():
		return "malformed"
	case h == nil || !s.cfg.WebSocket() && subtle.ConstantTimeCompare([]byte(h.Token), []byte(s.cfg.Feishu.VerificationToken.Value())) != 1:
		return "token"
	case h.AppID != s.cfg.Feishu.AppID:
		return "app_id"
	}
	return ""
}

// refuseHeader refuses an event too large or whose header is not ours; it returns
// nil when the event is ours. The webhook cuts a large body before the SDK reads
// it; the long connection hands over whatever Feishu pushed.
func (s *Server) refuseHeader(ctx context.Context, base *larkevent.EventV2Base, req *larkevent.EventReq) error {
	if req != nil && len(req.Body) > maxBody {
		return s.refuse(ctx, "too_large")
	}
	var h *larkevent.EventHeader
	if base != nil {
		h = base.Header
	}
	if reason := s.checkHeader(h); reason != "" {
		return s.refuse(ctx, reason)
	}
	return nil
}

// reject answers a refused webhook request and logs it once, without its body.
func (s *Server) reject(c *gin.Context, status int, reason, detail string) {
	s.metrics.EventsRejected.WithLabelValues(reason).Inc()
	s.log.Warn("webhook request refused", "reason", reason, "status", status,
		"path", c.Request.URL.Path, "remote", c.ClientIP(), "bytes", c.Request.ContentLength, "detail", detail)
	c.JSON(status, gin.H{"msg": reason})
}

// sdkLogger keeps the SDK dispatcher quiet: it would log every failure a second time,
// and before InitConfig it even logs whole request bodies.
type sdkLogger struct{}

func (sdkLogger) Debug(context.Context, ...interface{}) {}
func (sdkLogger) Info(context.Context, ...interface{})  {}
func (sdkLogger) Warn(context.Context, ...interface{})  {}
func (sdkLogger) Error(context.Context, ...interface{}) {}

var _ larkcore.Logger = sdkLogger{}
