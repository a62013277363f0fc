package auth

import (
	"context"
	"net"
	"net/http"
	"net/netip"

	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
)

// call is one request's state in the middleware, in one allocation: the
// parsed signature, the authenticated caller, the audit event and the
// response writer that holds the status until the record is durable.
//
// It is also the context the wrapped handler sees: Value answers the
// identity key itself and asks the request's context for anything else,
// so passing the identity down needs no context value of its own. Done,
// Err and Deadline are the request context's (embedded), so cancellation
// and the contexts derived from it work as with context.WithValue.
type call struct {
	context.Context
	sig    sigv4.Signature
	id     Identity
	authed bool // id is set: the signature verified
	ev     Event
	aw     auditWriter
}

// Value returns the caller's *Identity for identityKey once authenticated.
func (c *call) Value(key any) any {
	if _, ok := key.(identityKey); ok && c.authed {
		return &c.id
	}
	return c.Context.Value(key)
}

// peer is the request's source address, and its text as the audit log
// writes it (RemoteAddr's host as is for a plain IPv4 peer, no copy).
func peer(r *http.Request) (netip.Addr, string) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err == nil && a.Is4() {
		return a, host
	}
	a = a.Unmap()
	return a, a.String()
}
