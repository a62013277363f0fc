package irgen

import (
	"slices"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
)

// retryEvent is what one App Mesh retry event becomes in Envoy: retry_on
// conditions and retriable status codes.
type retryEvent struct {
	on    []string
	codes []uint32
}

// httpRetryEvents maps httpRetryEvents (§3.4 [API HttpRetryPolicy]): the
// error classes are expanded to explicit status codes, as the live
// translation showed, and server/gateway errors also retry on resets.
var httpRetryEvents = map[string]retryEvent{
	"server-error":  {on: []string{"reset"}, codes: []uint32{500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511}},
	"gateway-error": {on: []string{"reset"}, codes: []uint32{502, 503, 504}},
	"client-error":  {codes: []uint32{409}},
	"stream-error":  {on: []string{"refused-stream"}},
}

// tcpRetryEvents maps tcpRetryEvents: connection-error is a failed connect.
var tcpRetryEvents = map[string]retryEvent{
	"connection-error": {on: []string{"connect-failure"}},
}

// grpcRetryEvents maps grpcRetryEvents to Envoy's same-named gRPC retry_on
// conditions (§3.4 [API GrpcRetryPolicyEvent]).
var grpcRetryEvents = map[string]retryEvent{
	"cancelled":          {on: []string{"cancelled"}},
	"deadline-exceeded":  {on: []string{"deadline-exceeded"}},
	"internal":           {on: []string{"internal"}},
	"resource-exhausted": {on: []string{"resource-exhausted"}},
	"unavailable":        {on: []string{"unavailable"}},
}

// retryCollector accumulates conditions and codes of several events.
type retryCollector struct {
	on    []string
	codes []uint32
}

// add maps events through table. httpRetryEvents are free strings in the
// model; events App Mesh did not define retry nothing and are skipped.
func (c *retryCollector) add(table map[string]retryEvent, events []string) {
	for _, e := range events {
		ev := table[e]
		c.on = append(c.on, ev.on...)
		c.codes = append(c.codes, ev.codes...)
	}
}

// policy returns the Envoy retry policy, or nil when no event mapped to
// anything. Codes need the retriable-status-codes condition. Conditions and
// codes are sorted and deduplicated so the output is stable.
func (c *retryCollector) policy(maxRetries *int64, perTry *appmesh.Duration) *ir.RetryPolicy {
	if len(c.codes) > 0 {
		c.on = append(c.on, "retriable-status-codes")
	}
	if len(c.on) == 0 {
		return nil
	}
	slices.Sort(c.on)
	slices.Sort(c.codes)
	rp := &ir.RetryPolicy{RetryOn: slices.Compact(c.on), RetriableStatusCodes: slices.Compact(c.codes),
		PerTryTimeout: optionalDuration(perTry), PreferOtherHosts: true}
	if maxRetries != nil {
		rp.NumRetries = u32(*maxRetries)
	}
	return rp
}

// httpRetry translates an http/http2 route's retry policy, or App Mesh's
// hidden default when the route has none (§3.4). Retries go to another
// host when there is one (retry_host_predicate previous_hosts, observed in
// [DUMP-VG]).
func httpRetry(p *appmesh.HttpRetryPolicy) *ir.RetryPolicy {
	if p == nil {
		return defaultRetry(false)
	}
	var c retryCollector
	c.add(httpRetryEvents, p.HttpRetryEvents)
	c.add(tcpRetryEvents, p.TcpRetryEvents)
	return c.policy(p.MaxRetries, p.PerRetryTimeout)
}

// grpcRetry translates a gRPC route's retry policy, or the default.
func grpcRetry(p *appmesh.GrpcRetryPolicy) *ir.RetryPolicy {
	if p == nil {
		return defaultRetry(true)
	}
	var c retryCollector
	c.add(grpcRetryEvents, p.GrpcRetryEvents)
	c.add(httpRetryEvents, p.HttpRetryEvents)
	c.add(tcpRetryEvents, p.TcpRetryEvents)
	return c.policy(p.MaxRetries, p.PerRetryTimeout)
}

// defaultRetry is App Mesh's hidden default policy (see defaults.go): 2
// retries on connect-failure, refused-stream, reset and HTTP 503, plus
// gRPC UNAVAILABLE on gRPC routes; no per-try timeout.
func defaultRetry(grpc bool) *ir.RetryPolicy {
	on := slices.Clone(defaultRetryOn)
	if grpc {
		on = append(on, defaultGRPCRetryOn...)
		slices.Sort(on)
	}
	return &ir.RetryPolicy{RetryOn: on, RetriableStatusCodes: slices.Clone(defaultRetryCodes),
		NumRetries: defaultNumRetries, PreferOtherHosts: true}
}
