package adsclient

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Reconnection, for the restart benchmarks: a proxy whose stream fails
// waits reconnectBase (doubling up to reconnectMax, jittered) and opens a
// new stream on its connection, which gRPC redials with the same bounds.
// Envoy's own defaults are slower (a 500 ms base and a 30 s cap); the
// benchmark measures the control plane, not the backoff.
const (
	reconnectBase = 100 * time.Millisecond
	reconnectMax  = time.Second
)

// reconnectOptions are the dial options of a reconnecting fleet.
func (c *Config) reconnectOptions() []grpc.DialOption {
	if !c.Reconnect {
		return nil
	}
	return []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: reconnectBase, Multiplier: 2, Jitter: 0.2, MaxDelay: reconnectMax},
		MinConnectTimeout: 5 * time.Second,
	})}
}

// run runs the proxy's stream, and with Reconnect a new one each time it
// fails, until ctx ends.
func (p *proxy) run(ctx context.Context, cc *grpc.ClientConn) error {
	delay := reconnectBase
	for {
		start := time.Now()
		var err error
		if p.cfg.Delta {
			err = p.delta(ctx, cc)
		} else {
			err = p.sotw(ctx, cc)
		}
		if !p.cfg.Reconnect || ctx.Err() != nil {
			return err
		}
		if time.Since(start) > reconnectMax {
			delay = reconnectBase // the stream had been up: start over
		}
		if p.cfg.OnReconnect != nil {
			p.cfg.OnReconnect(p.i)
		}
		jitter := time.Duration(rand.Int64N(int64(delay) / 5))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay + jitter):
		}
		delay = min(2*delay, reconnectMax)
		p.sem <- struct{}{} // open releases it
	}
}
