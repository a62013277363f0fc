package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newMetricsRegistry returns the server's own Prometheus registry (the
// global default registry is never touched): Go runtime and process
// collectors; the xDS server and the API instrumentation add theirs.
func newMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// metricsHandler serves reg in the Prometheus text (or negotiated) format.
// It is mounted at GET /metrics on the API port; whatever authenticates the
// API port sits in front of it like any other route.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// API labels: which wire protocol a request spoke.
const (
	apiAppMesh          = "appmesh"
	apiServiceDiscovery = "servicediscovery"
	apiOther            = "other"
)

// operationNamer names the operation a request calls, or "" for none; both
// the App Mesh API and the Cloud Map API are one.
type operationNamer interface {
	Operation(r *http.Request) string
}

// apiMetrics counts API requests and their latency by protocol, operation
// and HTTP status code. Every label value comes from a fixed set (operation
// names the APIs serve, "other"), never from the request as sent.
type apiMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	appMesh  operationNamer
	cloudMap operationNamer
}

func newAPIMetrics(reg prometheus.Registerer, appMesh, cloudMap operationNamer) *apiMetrics {
	labels := []string{"api", "operation", "code"}
	m := &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_api_requests_total",
			Help: "API requests served, by API (appmesh, servicediscovery, other), operation and HTTP status code.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trellis_api_request_duration_seconds",
			Help:    "API request latency, by API, operation and HTTP status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, labels),
		appMesh:  appMesh,
		cloudMap: cloudMap,
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// name labels r: Cloud Map calls by their X-Amz-Target, App Mesh calls by
// their route; everything else (/healthz, /metrics, unknown paths) is other.
func (m *apiMetrics) name(r *http.Request) (api, op string) {
	if op := m.cloudMap.Operation(r); op != "" {
		return apiServiceDiscovery, op
	}
	if op := m.appMesh.Operation(r); op != "" {
		return apiAppMesh, op
	}
	return apiOther, apiOther
}

// instrument counts and times every request next serves.
func (m *apiMetrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api, op := m.name(r)
		start := time.Now()
		rec := &codeRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		code := strconv.Itoa(rec.code)
		m.requests.WithLabelValues(api, op, code).Inc()
		m.duration.WithLabelValues(api, op, code).Observe(time.Since(start).Seconds())
	})
}

// codeRecorder remembers the status code a handler wrote.
type codeRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *codeRecorder) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *codeRecorder) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *codeRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
