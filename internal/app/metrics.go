package app

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/probity-dev/probity/internal/store"
)

// metrics are the server's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg            *prometheus.Registry
	ledgerSize     prometheus.Gauge
	appendSeconds  prometheus.Histogram
	checkpointSize prometheus.Gauge
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
}

var _ store.LedgerObserver = (*metrics)(nil)

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ledgerSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "probity_ledger_entries", Help: "Entries integrated into the ledger.",
		}),
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "probity_ledger_append_duration_seconds", Help: "Time from appending a ledger entry to its transaction's commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		checkpointSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "probity_ledger_checkpoint_entries", Help: "Entries covered by the latest checkpoint this process published.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "probity_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "probity_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.ledgerSize, m.appendSeconds, m.checkpointSize, m.requests, m.requestSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watch adds the metrics read from the ledger at scrape time.
func (m *metrics) watch(l *store.Ledger) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "probity_ledger_checkpoint_age_seconds", Help: "Seconds since the latest checkpoint was published (-1 when there is none).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		age, ok := l.CheckpointAge(ctx)
		if !ok {
			return -1
		}
		return age.Seconds()
	}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "probity_ledger_sequencer", Help: "1 when this process integrates ledger entries and publishes checkpoints (on PostgreSQL, the elected sequencer).",
	}, func() float64 {
		if l.Sequencing() {
			return 1
		}
		return 0
	}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "probity_ledger_writer_failed", Help: "1 when the ledger writer has stopped accepting entries (fail closed).",
	}, func() float64 {
		if l.Failed() != nil {
			return 1
		}
		return 0
	}))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) Appended(d time.Duration)             { m.appendSeconds.Observe(d.Seconds()) }
func (m *metrics) Integrated(size int64)                { m.ledgerSize.Set(float64(size)) }
func (m *metrics) Checkpointed(size int64, _ time.Time) { m.checkpointSize.Set(float64(size)) }

func (m *metrics) observeRequest(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.requestSeconds.WithLabelValues(route).Observe(d.Seconds())
}
