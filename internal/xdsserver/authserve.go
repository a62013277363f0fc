package xdsserver

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// ServeAuthenticated is ServeTLS with client authentication: creds must
// verify client certificates (mTLS), opts.Authenticate turns the verified
// peer into an identity, and a stream is served only while every node id
// it claims names that identity; others end with PermissionDenied (or
// Unauthenticated without an identity), counted and logged with the
// claimed and proven identities. Connections are capped (Limits.MaxConns,
// as on every listener) and the handshake and the first request are
// time-bounded, so refused or idle clients cost bounded resources.
func (s *Server) ServeAuthenticated(ctx context.Context, ln net.Listener, creds credentials.TransportCredentials, opts AuthOptions) error {
	if creds == nil || opts.Authenticate == nil {
		return errors.New("xds serve authenticated: credentials and an authenticator are required")
	}
	opts.defaults()
	first := min(opts.FirstRequestTimeout, s.limits.FirstRequestTimeout)
	return s.serve(ctx, ln, first, grpc.Creds(creds), grpc.ConnectionTimeout(opts.HandshakeTimeout),
		grpc.ChainStreamInterceptor(s.authInterceptor(opts)))
}

// capListener closes connections accepted beyond max open ones. open is
// shared by the listeners of one Server, so the cap holds over all of
// them.
type capListener struct {
	net.Listener
	max     int64
	open    *atomic.Int64
	metrics *metrics
}

func newCapListener(ln net.Listener, max int, open *atomic.Int64, m *metrics) *capListener {
	return &capListener{Listener: ln, max: int64(max), open: open, metrics: m}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			l.metrics.connsRejected.Inc()
			c.Close()
			continue
		}
		l.metrics.conns.Inc()
		return &cappedConn{Conn: c, l: l}, nil
	}
}

type cappedConn struct {
	net.Conn
	l    *capListener
	once sync.Once
}

func (c *cappedConn) Close() error {
	c.once.Do(func() {
		c.l.open.Add(-1)
		c.l.metrics.conns.Dec()
	})
	return c.Conn.Close()
}
