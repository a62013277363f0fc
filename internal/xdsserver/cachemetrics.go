package xdsserver

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// cacheSizes is the collector of trellis_cache_entries{cache}: the
// entries each bounded cache of the xDS side holds, read at scrape time
// from the size function its owner registered (ObserveCache), so that no
// hot path updates a gauge.
type cacheSizes struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	fns  map[string]func() int
}

func newCacheSizes() *cacheSizes {
	return &cacheSizes{
		desc: prometheus.NewDesc("trellis_cache_entries",
			"Entries held by each bounded cache of the xDS side (irgen memo, xdsgen memo, translations, node keys, prepared resources).",
			[]string{"cache"}, nil),
		fns: map[string]func() int{},
	}
}

func (c *cacheSizes) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *cacheSizes) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	names := make([]string, 0, len(c.fns))
	for name := range c.fns {
		names = append(names, name)
	}
	fns := c.fns
	c.mu.Unlock()
	slices.Sort(names)
	for _, name := range names {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(fns[name]()), name)
	}
}

// ObserveCache reports, as trellis_cache_entries{cache="<name>"}, the
// size of a cache its owner bounds; size must be safe for concurrent use.
// A second registration of a name replaces the first.
func (s *Server) ObserveCache(name string, size func() int) {
	c := s.metrics.caches
	c.mu.Lock()
	defer c.mu.Unlock()
	fns := make(map[string]func() int, len(c.fns)+1) // Collect reads the old map unlocked
	for k, v := range c.fns {
		fns[k] = v
	}
	fns[name] = size
	c.fns = fns
}
