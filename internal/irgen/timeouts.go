package irgen

import (
	"math"
	"time"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
)

// duration converts an App Mesh duration (value + unit s|ms). ok is false
// when it is unset (nil, or no value): the caller applies its default.
// Validation guarantees a unit when a value is present. Values beyond
// time.Duration's range saturate instead of wrapping.
func duration(d *appmesh.Duration) (time.Duration, bool) {
	if d == nil || d.Value == nil {
		return 0, false
	}
	unit := time.Second
	if d.Unit == appmesh.DurationUnitMilliseconds {
		unit = time.Millisecond
	}
	v := *d.Value
	if v > math.MaxInt64/int64(unit) {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(v) * unit, true
}

// durationOr converts d, or returns def when it is unset. A set zero stays
// zero: in App Mesh 0 disables a timeout (§3.8).
func durationOr(d *appmesh.Duration, def time.Duration) *ir.Duration {
	if v, ok := duration(d); ok {
		return ir.D(v)
	}
	return ir.D(def)
}

// optionalDuration converts d, or returns nil (Envoy's default) when unset.
func optionalDuration(d *appmesh.Duration) *ir.Duration {
	if v, ok := duration(d); ok {
		return ir.D(v)
	}
	return nil
}

// httpTimeouts are the per-request and idle timeouts of an HTTP-family
// route or listener, with App Mesh's defaults: 15 s per request and 300 s
// idle (§3.4, §3.8).
type httpTimeouts struct {
	perRequest, idle *ir.Duration
}

func newHTTPTimeouts(t *appmesh.HttpTimeout) httpTimeouts {
	if t == nil {
		t = &appmesh.HttpTimeout{}
	}
	return httpTimeouts{
		perRequest: durationOr(t.PerRequest, defaultPerRequestTimeout),
		idle:       durationOr(t.Idle, defaultIdleTimeout),
	}
}

// listenerHTTPTimeouts picks the member of a listener timeout union that
// matches the listener protocol (validation makes them agree).
func listenerHTTPTimeouts(t *appmesh.ListenerTimeout, proto string) httpTimeouts {
	if t == nil {
		return newHTTPTimeouts(nil)
	}
	switch proto {
	case appmesh.ProtocolHTTP:
		return newHTTPTimeouts(t.Http)
	case appmesh.ProtocolHTTP2:
		return newHTTPTimeouts(t.Http2)
	case appmesh.ProtocolGRPC:
		return newHTTPTimeouts((*appmesh.HttpTimeout)(t.Grpc))
	}
	return newHTTPTimeouts(nil)
}

// listenerTCPIdle is a TCP listener's idle timeout; unset leaves Envoy's
// tcp_proxy default (see defaults.go, §3.8).
func listenerTCPIdle(t *appmesh.ListenerTimeout) *ir.Duration {
	if t == nil || t.Tcp == nil {
		return nil
	}
	return optionalDuration(t.Tcp.Idle)
}

// routeTCPIdle is a TCP route's idle timeout, likewise.
func routeTCPIdle(t *appmesh.TcpTimeout) *ir.Duration {
	if t == nil {
		return nil
	}
	return optionalDuration(t.Idle)
}
