package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ctimport/ctimport/engine"
)

// metrics records the API requests a server answered and serves them, with
// the engine's totals and the Go runtime's and the process's metrics, from
// a registry of the server's own.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

// requestLabels label the request metrics: the operation, "" when the
// request named no known one, and the HTTP status.
var requestLabels = []string{"operation", "code"}

// newMetrics returns the metrics of a server over eng; failures to serve
// them go to logger.
func newMetrics(eng *engine.Engine, logger *slog.Logger) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ctimport_api_requests_total",
			Help: "API requests answered, by operation and HTTP status.",
		}, requestLabels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ctimport_api_request_duration_seconds",
			Help:    "Time taken to answer API requests, by operation and HTTP status.",
			Buckets: prometheus.DefBuckets,
		}, requestLabels),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		m.requests,
		m.duration,
		totalsCollector{eng},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ctimport_queries_running",
			Help: "Queries running now, not counting those queued.",
		}, func() float64 { return float64(eng.QueriesRunning()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError),
	})
	return m
}

// request records a request of operation op answered with status after d.
func (m *metrics) request(op string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(op, code).Inc()
	m.duration.WithLabelValues(op, code).Observe(d.Seconds())
}

// totalsCollector gives the engine's Totals as they are at each scrape.
type totalsCollector struct{ eng *engine.Engine }

// totalsMetrics are the metrics of totalsCollector, each with the field of
// Totals it gives.
var totalsMetrics = []struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(engine.Totals) int64
}{
	{
		prometheus.NewDesc("ctimport_imports_running", "Imports running now.", nil, nil),
		prometheus.GaugeValue, func(t engine.Totals) int64 { return int64(t.ImportsRunning) },
	},
	{
		prometheus.NewDesc("ctimport_files_imported_total", "Log files imported.", nil, nil),
		prometheus.CounterValue, func(t engine.Totals) int64 { return t.Files },
	},
	{
		prometheus.NewDesc("ctimport_events_imported_total", "Events imported, including those already stored.", nil, nil),
		prometheus.CounterValue, func(t engine.Totals) int64 { return t.Events },
	},
	{
		prometheus.NewDesc("ctimport_bytes_imported_total", "Compressed bytes of the log files imported.", nil, nil),
		prometheus.CounterValue, func(t engine.Totals) int64 { return t.Bytes },
	},
	{
		prometheus.NewDesc("ctimport_import_failures_total", "Log files that failed to import.", nil, nil),
		prometheus.CounterValue, func(t engine.Totals) int64 { return t.FilesFailed },
	},
}

// Describe implements prometheus.Collector.
func (totalsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range totalsMetrics {
		ch <- m.desc
	}
}

// Collect implements prometheus.Collector.
func (c totalsCollector) Collect(ch chan<- prometheus.Metric) {
	t := c.eng.Totals()
	for _, m := range totalsMetrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, float64(m.value(t)))
	}
}
