package svid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// Retry bounds of a failed enrolment: the wait doubles from minRetry up to
// maxRetry, and never passes a tenth of the time left on the current
// certificate (so several attempts fit before it expires).
const (
	minRetry = 500 * time.Millisecond
	maxRetry = 30 * time.Second
)

// Renewer keeps a fresh identity published: it enrols, publishes, waits
// until half the certificate's lifetime, and enrols again.
type Renewer struct {
	Enroller *Enroller
	ID       enrol.ID
	// Publish receives every new identity (SDS.Update).
	Publish func(*Identity) error
	Log     *slog.Logger
	Metrics *Metrics
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Metrics are the renewer's Prometheus series.
type Metrics struct {
	renewals *prometheus.CounterVec
	expiry   prometheus.Gauge
}

// NewMetrics registers the series on reg (none if reg is nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		renewals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trellis_sidecar_svid_enrolments_total",
			Help: "SVID enrolments and renewals by result (ok, error)."}, []string{"result"}),
		expiry: prometheus.NewGauge(prometheus.GaugeOpts{Name: "trellis_sidecar_svid_expiry_timestamp_seconds",
			Help: "NotAfter of the SVID served to Envoy, Unix seconds."}),
	}
	if reg != nil {
		reg.MustRegister(m.renewals, m.expiry)
	}
	return m
}

// First enrols until it succeeds, ctx ends or the CA refuses (ErrRefused:
// a wrong or used-up join token will not improve by retrying).
func (r *Renewer) First(ctx context.Context) (*Identity, error) {
	return r.enrol(ctx, time.Time{})
}

// Run renews cur at half its lifetime, again and again, until ctx ends
// (then it returns nil) or the CA refuses a renewal (ErrRefused: the
// node's credentials were revoked).
func (r *Renewer) Run(ctx context.Context, cur *Identity) error {
	for {
		if err := r.sleep(ctx, cur.RenewAt().Sub(r.now())); err != nil {
			return nil
		}
		next, err := r.enrol(ctx, cur.NotAfter())
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		cur = next
	}
}

// enrol gets and publishes one identity, retrying with backoff until it
// succeeds, ctx ends or the CA refuses (ErrRefused). deadline, if set, is
// the expiry of the identity in use.
func (r *Renewer) enrol(ctx context.Context, deadline time.Time) (*Identity, error) {
	wait := minRetry
	for {
		ident, err := r.Enroller.Enrol(ctx, r.ID)
		if err == nil {
			err = r.Publish(ident)
		}
		if err == nil {
			r.count("ok")
			if r.Metrics != nil {
				r.Metrics.expiry.Set(float64(ident.NotAfter().Unix()))
			}
			r.log().Info("svid: enrolled", "spiffeId", r.ID.String(),
				"notAfter", ident.NotAfter().UTC().Format(time.RFC3339), "renewAt", ident.RenewAt().UTC().Format(time.RFC3339))
			return ident, nil
		}
		r.count("error")
		if errors.Is(err, ErrRefused) || ctx.Err() != nil {
			return nil, fmt.Errorf("enrol %s: %w", r.ID, err)
		}
		level := slog.LevelWarn
		if !deadline.IsZero() {
			// Before expiry, several attempts fit in the time left; after
			// it, keep trying at the slowest pace (the proxy's mTLS
			// connections fail until then: say so loudly).
			if left := deadline.Sub(r.now()); left > 0 {
				wait = min(wait, max(left/10, minRetry))
			} else {
				level = slog.LevelError
			}
		}
		r.log().Log(ctx, level, "svid: enrolment failed; retrying", "spiffeId", r.ID.String(), "in", wait,
			"certificateExpired", !deadline.IsZero() && !r.now().Before(deadline), "err", err)
		if r.sleep(ctx, wait) != nil {
			return nil, ctx.Err()
		}
		wait = min(2*wait, maxRetry)
	}
}

func (r *Renewer) count(result string) {
	if r.Metrics != nil {
		r.Metrics.renewals.WithLabelValues(result).Inc()
	}
}

func (r *Renewer) sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, d) }

// sleep waits d or until ctx ends (then it returns ctx.Err()).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *Renewer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Renewer) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}
