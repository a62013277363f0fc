package registry

import (
	"fmt"
	"strconv"
	"time"
)

// AttrTTL is the instance attribute that asks for a lease: an instance
// registered with it expires unless it is registered again (or its health
// is updated) within the TTL. Its value is the TTL in whole seconds
// (1..MaxLeaseSeconds); the registry caps it at Options.TTL. The Trellis
// sidecar sets it on its own registrations and renews them by heartbeats.
//
// An instance registered without it (the aws CLI, an SDK, a user's script)
// follows Cloud Map's semantics: it stays until DeregisterInstance, and a
// custom health check (UpdateInstanceCustomHealthStatus) only changes its
// health, never removes it.
const AttrTTL = "trellis.io/ttl"

// MaxLeaseSeconds is the largest value AttrTTL accepts (one day).
const MaxLeaseSeconds = 86400

// leaseTTL returns the TTL an instance with attrs gets: 0 (no expiry) when
// attrs has no AttrTTL, else the asked TTL capped at limit.
func leaseTTL(attrs map[string]string, limit time.Duration) (time.Duration, error) {
	v, ok := attrs[AttrTTL]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLeaseSeconds {
		return 0, fmt.Errorf("%w: attribute %s must be a whole number of seconds between 1 and %d, got %q",
			ErrInvalidInput, AttrTTL, MaxLeaseSeconds, v)
	}
	return min(time.Duration(n)*time.Second, limit), nil
}

// expired reports whether an instance's lease has run out at now. An
// instance without a lease never expires (also one stored by an older
// Trellis, which gave every instance a TTL: only AttrTTL asks for one).
func expired(in Instance, now time.Time) bool {
	if in.TTL <= 0 {
		return false
	}
	if _, leased := in.Attributes[AttrTTL]; !leased {
		return false
	}
	return !now.Before(in.LastHeartbeat.Add(in.TTL))
}
