package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"
	flog "fortio.org/log"
)

// path is one of the two request paths under test.
type path struct{ name, url string }

// sample is one fortio run's figures.
type sample struct {
	qps      float64
	p50, p99 time.Duration
	requests int64
	non200   int64
}

// load runs fortio against url: at qps requests per second, or as fast as
// conns connections can go when qps < 0.
func load(url string, qps float64, conns int, d time.Duration) (sample, error) {
	o := fhttp.HTTPRunnerOptions{
		RunnerOptions: periodic.RunnerOptions{
			QPS: qps, Duration: d, NumThreads: conns, Uniform: qps > 0,
			Percentiles: []float64{50, 99}, Out: io.Discard,
		},
	}
	o.URL = url
	if err := o.AddAndValidateExtraHeader("Host: " + serviceHost); err != nil {
		return sample{}, err
	}
	res, err := fhttp.RunHTTPTest(&o)
	if err != nil {
		return sample{}, fmt.Errorf("fortio %s: %w", url, err)
	}
	h := res.DurationHistogram
	s := sample{qps: res.ActualQPS, requests: h.Count, non200: h.Count - res.RetCodes[http.StatusOK]}
	for _, p := range h.Percentiles {
		v := time.Duration(p.Value * float64(time.Second))
		switch p.Percentile {
		case 50:
			s.p50 = v
		case 99:
			s.p99 = v
		}
	}
	return s, nil
}

// measure runs every round: each path at the fixed rate, then each path at
// max, alternating which path goes first so neither always runs warm.
func measure(o options, paths []path) error {
	flog.SetLogLevelQuiet(flog.Error)
	fixed := map[string][]sample{}
	maxed := map[string][]sample{}
	for r := range o.rounds {
		order := slices.Clone(paths)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, mode := range []struct {
			qps float64
			out map[string][]sample
		}{{o.qps, fixed}, {-1, maxed}} {
			for _, p := range order {
				s, err := load(p.url, mode.qps, o.conns, o.duration)
				if err != nil {
					return err
				}
				printSample(r+1, p.name, mode.qps, s)
				mode.out[p.name] = append(mode.out[p.name], s)
			}
		}
	}
	summarize(o, fixed, maxed)
	return nil
}

func printSample(round int, name string, qps float64, s sample) {
	mode := fmt.Sprintf("%.0f rps", qps)
	if qps < 0 {
		mode = "max"
	}
	fmt.Printf("  round %d %-7s %-8s  %8.0f rps  p50 %8v  p99 %8v  %7d requests  %d not 200\n",
		round, name, mode, s.qps, s.p50.Round(time.Microsecond), s.p99.Round(time.Microsecond), s.requests, s.non200)
}

// summarize prints the median of the rounds per path and the ratios
// trellis/static (latency) and static/trellis (throughput): 1.0 is no
// cost, the goal is at most 1.1.
func summarize(o options, fixed, maxed map[string][]sample) {
	t50, s50 := median(fixed["trellis"], p50), median(fixed["static"], p50)
	t99, s99 := median(fixed["trellis"], p99), median(fixed["static"], p99)
	tMax, sMax := median(maxed["trellis"], rate), median(maxed["static"], rate)
	fmt.Printf("\n| path | p50 at %.0f rps | p99 at %.0f rps | max throughput |\n|---|---|---|---|\n", o.qps, o.qps)
	fmt.Printf("| Trellis-configured | %v | %v | %.0f rps |\n", time.Duration(t50).Round(time.Microsecond), time.Duration(t99).Round(time.Microsecond), tMax)
	fmt.Printf("| static bootstrap | %v | %v | %.0f rps |\n", time.Duration(s50).Round(time.Microsecond), time.Duration(s99).Round(time.Microsecond), sMax)
	fmt.Printf("| ratio (goal ≤ 1.10) | %.2f | %.2f | %.2f |\n", t50/s50, t99/s99, sMax/tMax)
	if len(fixed["mtls"]) > 0 {
		summarizeMTLS(o, t50, t99, tMax, fixed["mtls"], maxed["mtls"])
	}
}

// summarizeMTLS compares the auto-mTLS path with the plaintext Trellis
// path: the latency mTLS adds through two hops, and the throughput kept.
func summarizeMTLS(o options, t50, t99, tMax float64, fixed, maxed []sample) {
	m50, m99, mMax := median(fixed, p50), median(fixed, p99), median(maxed, rate)
	d := func(v float64) time.Duration { return time.Duration(v).Round(time.Microsecond) }
	fmt.Printf("\n| path | p50 at %.0f rps | p99 at %.0f rps | max throughput |\n|---|---|---|---|\n", o.qps, o.qps)
	fmt.Printf("| Trellis, plaintext between Envoys | %v | %v | %.0f rps |\n", d(t50), d(t99), tMax)
	fmt.Printf("| Trellis, auto-mTLS between Envoys | %v | %v | %.0f rps |\n", d(m50), d(m99), mMax)
	fmt.Printf("| mTLS adds | %v (×%.2f) | %v (×%.2f) | ×%.2f |\n", d(m50-t50), m50/t50, d(m99-t99), m99/t99, mMax/tMax)
}

func p50(s sample) float64  { return float64(s.p50) }
func p99(s sample) float64  { return float64(s.p99) }
func rate(s sample) float64 { return s.qps }

// median of f over the samples (the mean of the middle two for an even
// count).
func median(ss []sample, f func(sample) float64) float64 {
	if len(ss) == 0 {
		return 0
	}
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
