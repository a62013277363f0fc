package telemetry

import (
	"math"
	"slices"
	"time"
)

// hist is a latency histogram: counts per upper bound (milliseconds, as
// Envoy reports them), not cumulative. The bounds are Envoy's (the same on
// every proxy unless a bootstrap overrides histogram_bucket_settings).
type hist struct {
	bounds []float64 // ascending; the last bucket is +Inf implicitly
	counts []float64 // len(bounds)+1
}

// add merges per-bucket counts (len(bounds)+1 values) measured on bounds.
func (h *hist) add(bounds, counts []float64) {
	if len(h.counts) == 0 {
		h.bounds = bounds
		h.counts = make([]float64, len(bounds)+1)
	}
	if slices.Equal(h.bounds, bounds) {
		for i, c := range counts {
			h.counts[i] += c
		}
		return
	}
	// Different bounds: put each count in the first bucket that holds its
	// upper bound (exact for shared bounds, conservative otherwise).
	for i, c := range counts {
		ub := math.Inf(1)
		if i < len(bounds) {
			ub = bounds[i]
		}
		j, _ := slices.BinarySearch(h.bounds, ub)
		h.counts[j] += c
	}
}

// quantile estimates the q-quantile by linear interpolation inside the
// bucket that holds it, as Prometheus' histogram_quantile does. It returns
// NaN for an empty histogram; a quantile in the +Inf bucket returns the
// highest finite bound.
func (h *hist) quantile(q float64) float64 {
	var total float64
	for _, c := range h.counts {
		total += c
	}
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	var cum float64
	for i, c := range h.counts {
		if cum+c < rank || c == 0 {
			cum += c
			continue
		}
		if i == len(h.bounds) {
			return h.bounds[len(h.bounds)-1]
		}
		lo := 0.0
		if i > 0 {
			lo = h.bounds[i-1]
		}
		return lo + (h.bounds[i]-lo)*(rank-cum)/c
	}
	return h.bounds[len(h.bounds)-1]
}

// bucket is what one time slot of a window accumulated.
type bucket struct {
	slot     int64 // unix time / bucket width; 0 means unused
	requests float64
	errors   float64 // 5xx responses
	latency  hist
}

// window is a ring of fixed-width buckets covering the last len(buckets)
// slots, plus totals since the window was created (for Prometheus
// counters). It is not safe for concurrent use; its owner (signals) locks.
type window struct {
	width   time.Duration
	buckets []bucket
	// totals since creation: never reset, so Prometheus rate() works.
	totalRequests, totalErrors float64
	last                       time.Time // time of the last add
}

func newWindow(width time.Duration, n int) *window {
	return &window{width: width, buckets: make([]bucket, n)}
}

// slotOf numbers the bucket that holds t.
func (w *window) slotOf(t time.Time) int64 { return t.UnixNano()/int64(w.width) + 1 }

// add records a delta observed at t.
func (w *window) add(t time.Time, d delta) {
	slot := w.slotOf(t)
	b := &w.buckets[slot%int64(len(w.buckets))]
	if b.slot != slot {
		*b = bucket{slot: slot}
	}
	b.requests += d.requests
	b.errors += d.errors
	if d.latencyBounds != nil {
		b.latency.add(d.latencyBounds, d.latencyCounts)
	}
	w.totalRequests += d.requests
	w.totalErrors += d.errors
	w.last = t
}

// Signals are the golden signals of one window.
type Signals struct {
	// RequestRate is requests per second over the window.
	RequestRate float64 `json:"requestRate"`
	// SuccessRate is the share of non-5xx responses, 0..1; null (NaN)
	// without requests.
	SuccessRate *float64 `json:"successRate"`
	// LatencyP50Ms and LatencyP99Ms are estimated from Envoy's histogram
	// buckets; null without latency samples.
	LatencyP50Ms *float64 `json:"latencyP50Ms"`
	LatencyP99Ms *float64 `json:"latencyP99Ms"`
	// ActiveConnections is the sum of the latest gauge of every proxy.
	ActiveConnections float64 `json:"activeConnections"`
	// Requests and Errors are the counts inside the window.
	Requests float64 `json:"requests"`
	Errors   float64 `json:"errors"`
	// TotalRequests and TotalErrors count since the server started.
	TotalRequests float64 `json:"totalRequests"`
	TotalErrors   float64 `json:"totalErrors"`
}

// signals sums the buckets that are still inside the window at now. The
// rate divides by the whole window span, so a window younger than its span
// reads low until it fills, as Prometheus' rate() over a range does not;
// Span is reported so clients can tell.
func (w *window) signals(now time.Time) Signals {
	cur := w.slotOf(now)
	oldest := cur - int64(len(w.buckets)) + 1
	var s Signals
	var h hist
	for i := range w.buckets {
		b := &w.buckets[i]
		if b.slot < oldest || b.slot > cur {
			continue
		}
		s.Requests += b.requests
		s.Errors += b.errors
		if len(b.latency.counts) > 0 {
			h.add(b.latency.bounds, b.latency.counts)
		}
	}
	s.RequestRate = s.Requests / (w.width.Seconds() * float64(len(w.buckets)))
	if s.Requests > 0 {
		s.SuccessRate = ptr(1 - s.Errors/s.Requests)
	}
	if len(h.counts) > 0 {
		if p := h.quantile(0.5); !math.IsNaN(p) {
			s.LatencyP50Ms, s.LatencyP99Ms = ptr(p), ptr(h.quantile(0.99))
		}
	}
	s.TotalRequests, s.TotalErrors = w.totalRequests, w.totalErrors
	return s
}

func ptr(f float64) *float64 { return &f }
