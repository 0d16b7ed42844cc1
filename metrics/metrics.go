// Package metrics holds the bot's Prometheus collectors. One Metrics value is built
// in main and passed down; nothing registers into the global registry, so tests can
// build as many as they like.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is every collector the bot exports on /metrics.
type Metrics struct {
	reg *prometheus.Registry

	// EventsReceived counts accepted events by event type, from either way in.
	EventsReceived *prometheus.CounterVec
	// EventsDeduped counts re-deliveries of an event already recorded.
	EventsDeduped prometheus.Counter
	// EventsRejected counts webhook requests and long-connection events refused, by reason
	// (signature, token, replay, too_large, malformed, ...).
	EventsRejected *prometheus.CounterVec
	// Commands counts command runs by command name and outcome (ok, refused, error).
	Commands *prometheus.CounterVec
	// ACSCalls counts ACS user list calls by result (ok, rate_limited,
	// invalid_page_token, server_error, transport_error, error).
	ACSCalls *prometheus.CounterVec
	// CacheLookups counts directory snapshot lookups by result (hit, stale, miss).
	CacheLookups *prometheus.CounterVec
	// ScanDuration is how long one full directory scan took.
	ScanDuration prometheus.Histogram
	// ReplyLatency is the time from an event's arrival to its reply being sent.
	ReplyLatency prometheus.Histogram
	// MessagesSent counts reply/send/patch calls by kind and result.
	MessagesSent *prometheus.CounterVec
	// EventsGivenUp counts recorded events dropped after too many failed attempts.
	EventsGivenUp prometheus.Counter
	// StoreErrors counts failed store operations, by operation; the log says so only
	// once a minute.
	StoreErrors *prometheus.CounterVec
	// LongConnUp is 1 while the long connection to Feishu is open, 0 otherwise
	// (always 0 in webhook mode).
	LongConnUp prometheus.Gauge
	// LongConnReconnects counts the long connection opened again after a drop.
	LongConnReconnects prometheus.Counter
	// FeishuCalls is this calendar month's Feishu API calls that succeeded, by kind
	// (reply, send, card_update, lookup, other: counted against the quota; acs_list,
	// acs_get, acs_other: not). It survives restarts: the store keeps the month.
	FeishuCalls *prometheus.GaugeVec
	// QuotaExhausted is 1 from Feishu's first 99991403 (monthly quota used up) until
	// the month turns.
	QuotaExhausted prometheus.Gauge
}

// New builds the collectors on a fresh registry that also carries the Go runtime
// and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{
		reg: reg,
		EventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acsbot_events_received_total", Help: "Events accepted, by event type.",
		}, []string{"type"}),
		EventsDeduped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "acsbot_events_deduped_total", Help: "Re-deliveries of an already recorded event, acknowledged and ignored.",
		}),
		EventsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acsbot_events_rejected_total", Help: "Webhook requests and long-connection events refused, by reason.",
		}, []string{"reason"}),
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acsbot_commands_total", Help: "Commands run, by command and outcome.",
		}, []string{"command", "outcome"}),
		ACSCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acsbot_acs_calls_total", Help: "ACS user list calls, by result.",
		}, []string{"result"}),
		CacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acsbot_cache_lookups_total", Help: "Directory snapshot lookups, by result (hit, stale, miss).",
		}, []string{"result"}),
		ScanDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "acsbot_scan_duration_seconds", Help: "Duration of a full ACS directory scan.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
		ReplyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "acsbot_reply_latency_seconds", Help: "Time from an event's arrival to its reply being sent.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		MessagesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acsbot_messages_total", Help: "Message API calls, by kind (reply, send, patch) and result.",
		}, []string{"kind", "result"}),
		EventsGivenUp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "acsbot_events_given_up_total", Help: "Recorded events dropped after too many failed attempts.",
		}),
		StoreErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acsbot_store_errors_total", Help: "Failed store operations, by operation.",
		}, []string{"op"}),
		LongConnUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "acsbot_long_connection_up", Help: "1 while the long connection to Feishu is open.",
		}),
		LongConnReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "acsbot_long_connection_reconnects_total", Help: "Times the long connection was opened again after a drop.",
		}),
		FeishuCalls: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "acsbot_feishu_calls_this_month",
			Help: "Feishu API calls that succeeded this calendar month (push.timezone), by kind; acs_* kinds are not counted against the quota.",
		}, []string{"kind"}),
		QuotaExhausted: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "acsbot_quota_exhausted", Help: "1 when Feishu refused a call this month for the monthly API call quota (99991403).",
		}),
	}
	f(m.EventsReceived)
	f(m.EventsDeduped)
	f(m.EventsRejected)
	f(m.Commands)
	f(m.ACSCalls)
	f(m.CacheLookups)
	f(m.ScanDuration)
	f(m.ReplyLatency)
	f(m.MessagesSent)
	f(m.EventsGivenUp)
	f(m.StoreErrors)
	f(m.LongConnUp)
	f(m.LongConnReconnects)
	f(m.FeishuCalls)
	f(m.QuotaExhausted)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry exposes the registry so tests can gather what was counted.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }
