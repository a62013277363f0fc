package server

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/auth"
	"github.com/trellis-mesh/trellis/internal/auth/policy"
)

// maxCachedPolicies bounds policyCache.
const maxCachedPolicies = 4096

// policyCache holds parsed policy documents by their exact text, so a
// request does not re-parse its principal's policies. Owner: one Server
// (wireAuthDefaults creates it). Bound: maxCachedPolicies documents; when
// full it is emptied and refilled (there is one set of documents per
// principal, so this is rare). Invalidation: none needed, since the key is
// the document itself: an edited policy is a new entry, and a detached one
// ages out at the next emptying. Metrics: trellis_auth_policy_cache_entries
// and trellis_auth_policy_cache_resets_total (see collectors).
type policyCache struct {
	mu      sync.RWMutex // read-locked on every authorized request
	max     int
	parsed  map[string]*policy.Policy
	entries prometheus.Gauge
	resets  prometheus.Counter
}

func newPolicyCache(max int) *policyCache {
	return &policyCache{max: max, parsed: map[string]*policy.Policy{},
		entries: prometheus.NewGauge(prometheus.GaugeOpts{Name: "trellis_auth_policy_cache_entries",
			Help: "Parsed IAM policy documents held by the authorizer."}),
		resets: prometheus.NewCounter(prometheus.CounterOpts{Name: "trellis_auth_policy_cache_resets_total",
			Help: "Times the parsed-policy cache reached its bound and was emptied."}),
	}
}

func (c *policyCache) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.entries, c.resets}
}

// parse returns the parsed document, from the cache when it is there.
func (c *policyCache) parse(doc json.RawMessage) (*policy.Policy, error) {
	c.mu.RLock()
	p, ok := c.parsed[string(doc)]
	c.mu.RUnlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse(doc)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.parsed) >= c.max {
		c.parsed = map[string]*policy.Policy{}
		c.resets.Inc()
	}
	c.parsed[string(doc)] = p
	c.entries.Set(float64(len(c.parsed)))
	return p, nil
}

// authorize evaluates a principal's attached IAM policy documents with
// auth/policy: allowed only on an explicit Allow and no explicit Deny. A
// document that does not parse is an error, so a deny.
func (c *policyCache) authorize(docs []json.RawMessage, req auth.AuthzRequest) (bool, error) {
	var buf [4]*policy.Policy // most principals have a few policies: no allocation
	ps := buf[:0]
	for _, d := range docs {
		p, err := c.parse(d)
		if err != nil {
			return false, fmt.Errorf("attached policy: %w", err)
		}
		ps = append(ps, p)
	}
	d := policy.Evaluate(ps, policy.Request{
		Action: req.Action, Resource: req.Resource, Principal: req.Principal, SourceIP: req.SourceIP,
		RequestTags: req.RequestTags, TagKeys: req.TagKeys, ResourceTags: req.ResourceTags,
	})
	return d == policy.Allow, nil
}
