// Package metrics exposes penny to Prometheus (the official Go client):
// HTTP requests and latency by route, every model call by provider, model
// and outcome with its latency, cost and baseline counters, cache hits and
// the cost they avoided, the global budget in use, and breaker states.
// Model calls are counted from the ledger, which every call passes through.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
)

// Metrics holds penny's collectors in their own registry.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	calls     *prometheus.CounterVec
	callTime  *prometheus.HistogramVec
	cost      *prometheus.CounterVec
	baseline  *prometheus.CounterVec
	cacheHits *prometheus.CounterVec
	avoided   *prometheus.CounterVec
}

// Sources are read at scrape time.
type Sources struct {
	// Health lists the breakers (router.Health).
	Health func() []router.Health
	// GlobalBudget returns spent and limit in micro-dollars (limit 0: none).
	GlobalBudget func(ctx context.Context) (spent, limit int64)
}

// New registers the collectors.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "penny_http_requests_total", Help: "HTTP requests by route and status."}, []string{"method", "route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "penny_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"method", "route"})
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "penny_provider_calls_total", Help: "Model calls (ledger entries) by provider, model, kind, service and outcome."},
		[]string{"provider", "model", "kind", "service", "outcome"})
	m.callTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "penny_provider_call_duration_seconds", Help: "Model call latency by provider and kind.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"provider", "kind"})
	m.cost = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "penny_cost_micro_dollars_total", Help: "What model calls cost, in micro-dollars."}, []string{"provider", "service"})
	m.baseline = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "penny_baseline_micro_dollars_total", Help: "What the same calls would have cost on the OpenAI-only reference, in micro-dollars."}, []string{"service"})
	m.cacheHits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "penny_cache_hits_total", Help: "Cache hits by class."}, []string{"class"})
	m.avoided = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "penny_cache_avoided_micro_dollars_total", Help: "Cost avoided by cache hits, in micro-dollars."}, []string{"class"})
	m.reg.MustRegister(m.requests, m.latency, m.calls, m.callTime, m.cost, m.baseline, m.cacheHits, m.avoided,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &scrape{src: src})
	return m
}

// Handler serves the registry.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Request records one HTTP request; route is the route pattern (bounded
// cardinality), not the path.
func (m *Metrics) Request(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// Observe records one ledger entry.
func (m *Metrics) Observe(e storage.LedgerEntry) {
	if e.CacheHit {
		m.cacheHits.WithLabelValues(e.CacheClass).Inc()
		m.avoided.WithLabelValues(e.CacheClass).Add(float64(e.AvoidedMicros))
	} else {
		m.calls.WithLabelValues(e.Provider, e.Model, e.Kind, e.Service, e.Outcome).Inc()
		m.callTime.WithLabelValues(e.Provider, e.Kind).Observe(float64(e.LatencyMs) / 1000)
	}
	m.cost.WithLabelValues(e.Provider, e.Service).Add(float64(e.CostMicros))
	if e.Outcome == storage.OutcomeOK {
		m.baseline.WithLabelValues(e.Service).Add(float64(e.BaselineMicros))
	}
}

// Ledger wraps a ledger so that every booked entry is also counted.
type Ledger struct {
	router.Ledger
	M *Metrics
}

// AppendLedger books e and counts it.
func (l Ledger) AppendLedger(ctx context.Context, e storage.LedgerEntry) error {
	if err := l.Ledger.AppendLedger(ctx, e); err != nil {
		return err
	}
	l.M.Observe(e)
	return nil
}

// scrape reads breaker states and the budget when Prometheus scrapes.
type scrape struct{ src Sources }

var (
	breakerDesc = prometheus.NewDesc("penny_breaker_open", "1 when the circuit breaker of a provider+model is open or half-open.", []string{"provider", "model"}, nil)
	budgetDesc  = prometheus.NewDesc("penny_budget_global_used_ratio", "Share of the global monthly budget spent (absent without a budget).", nil, nil)
)

func (s *scrape) Describe(ch chan<- *prometheus.Desc) { ch <- breakerDesc; ch <- budgetDesc }

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	if s.src.Health != nil {
		for _, h := range s.src.Health() {
			v := 0.0
			if h.Breaker != router.StateClosed {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, v, h.Provider, h.Model)
		}
	}
	if s.src.GlobalBudget != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if spent, limit := s.src.GlobalBudget(ctx); limit > 0 {
			ch <- prometheus.MustNewConstMetric(budgetDesc, prometheus.GaugeValue, float64(spent)/float64(limit))
		}
	}
}
