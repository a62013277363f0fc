package apiserver

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of ConnLimits: what a slow or idle client may hold on the API
// port.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxConns          = 1024
)

// ConnLimits bound the API server's connections.
type ConnLimits struct {
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body; a
	// client that sends its body slowly is cut off at this point.
	ReadTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
	// MaxConns bounds the open connections; one more is answered 503 and
	// closed at once.
	MaxConns int
}

func (l ConnLimits) withDefaults() ConnLimits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	return l
}

// ConnLimiter applies ConnLimits to an http.Server and a listener, and
// counts what they cut off. Its metrics are Collectors, for whichever
// registry serves the server's /metrics.
type ConnLimiter struct {
	limits   ConnLimits
	log      *slog.Logger
	sem      chan struct{}
	open     prometheus.Gauge
	rejected prometheus.Counter
	readTO   prometheus.Counter
	idleTO   prometheus.Counter
}

// NewConnLimiter returns a limiter for limits (zero fields take the
// defaults).
func NewConnLimiter(limits ConnLimits, log *slog.Logger) *ConnLimiter {
	if log == nil {
		log = slog.Default()
	}
	limits = limits.withDefaults()
	return &ConnLimiter{limits: limits, log: log, sem: make(chan struct{}, limits.MaxConns),
		open: prometheus.NewGauge(prometheus.GaugeOpts{Name: "trellis_api_connections_open",
			Help: "Open connections on the API port (bounded by --api-max-connections)."}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "trellis_api_connections_rejected_total",
			Help: "Connections answered 503 and closed because --api-max-connections were open."}),
		readTO: prometheus.NewCounter(prometheus.CounterOpts{Name: "trellis_api_read_timeouts_total",
			Help: "Connections closed because a request's headers or body were not read within --api-read-timeout."}),
		idleTO: prometheus.NewCounter(prometheus.CounterOpts{Name: "trellis_api_idle_timeouts_total",
			Help: "Keep-alive connections closed after --api-idle-timeout without a request."}),
	}
}

// Limits returns the limits in force (defaults filled in).
func (c *ConnLimiter) Limits() ConnLimits { return c.limits }

// Collectors are the limiter's metrics.
func (c *ConnLimiter) Collectors() []prometheus.Collector {
	return []prometheus.Collector{c.open, c.rejected, c.readTO, c.idleTO}
}

// Configure sets srv's timeouts and connection-state hook. Serve srv on
// a listener from Listener.
func (c *ConnLimiter) Configure(srv *http.Server) {
	srv.ReadHeaderTimeout = c.limits.ReadHeaderTimeout
	srv.ReadTimeout = c.limits.ReadTimeout
	srv.IdleTimeout = c.limits.IdleTimeout
	srv.ConnState = func(nc net.Conn, st http.ConnState) {
		if lc, ok := nc.(*limitedConn); ok {
			lc.state.Store(int32(st))
		}
	}
}

// Listener wraps ln so that at most MaxConns accepted connections are open.
func (c *ConnLimiter) Listener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, c: c}
}

type limitListener struct {
	net.Listener
	c *ConnLimiter
}

// Accept returns the next connection within the bound; connections over
// it are answered 503 and closed here, so a flood of slow clients cannot
// queue legitimate ones behind it.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.c.sem <- struct{}{}:
			l.c.open.Inc()
			return &limitedConn{Conn: nc, c: l.c}, nil
		default:
			l.c.rejected.Inc()
			refuse(nc)
		}
	}
}

// refuse answers 503 without reading the request and closes; the write is
// bounded so a client that reads nothing cannot stall Accept.
func refuse(nc net.Conn) {
	nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	const body = "too many connections\n"
	nc.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 21\r\n\r\n" + body))
	nc.Close()
}

// limitedConn releases its slot once when closed and classifies read
// deadline errors as read or idle timeouts by the connection's state.
type limitedConn struct {
	net.Conn
	c        *ConnLimiter
	state    atomic.Int32 // http.ConnState
	deadline atomic.Int64 // read deadline, Unix nanoseconds; 0 none
	once     sync.Once
	timed    atomic.Bool
}

// abortBefore (2000-01-01 in Unix nanoseconds): net/http aborts its
// background read with a read deadline in 1970; such a deadline is not a
// timeout.
const abortBefore = 946684800 * int64(time.Second)

func (lc *limitedConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		lc.deadline.Store(0)
	} else {
		lc.deadline.Store(t.UnixNano())
	}
	return lc.Conn.SetReadDeadline(t)
}

func (lc *limitedConn) Read(p []byte) (int, error) {
	n, err := lc.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && lc.deadline.Load() > abortBefore &&
		lc.timed.CompareAndSwap(false, true) {
		if http.ConnState(lc.state.Load()) == http.StateIdle {
			lc.c.idleTO.Inc()
		} else {
			lc.c.readTO.Inc()
		}
	}
	return n, err
}

func (lc *limitedConn) Close() error {
	err := lc.Conn.Close()
	lc.once.Do(func() {
		<-lc.c.sem
		lc.c.open.Dec()
	})
	return err
}
