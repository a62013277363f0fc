package svid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// Bundle fetches the CA's trust bundle for id (GET /v1/ca/bundle?spiffeId=
// id), authenticated as Enrol is: the join token in a header, or Sign.
// The answer is untrusted input (FuzzParseBundleResponse).
func (e *Enroller) Bundle(ctx context.Context, id enrol.ID) ([]byte, error) {
	u := strings.TrimSuffix(e.APIURL, "/") + enrol.BundlePath + "?" + enrol.BundleIDParam + "=" + url.QueryEscape(id.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if e.Token != "" {
		req.Header.Set(enrol.BundleTokenHeader, e.Token)
	} else if e.Sign != nil {
		if err := e.Sign(req, nil); err != nil {
			return nil, fmt.Errorf("sign request: %w", err)
		}
	}
	b, err := e.do(req)
	if err != nil {
		return nil, err
	}
	return parseBundleResponse(b, id.TrustDomain)
}

// parseBundleResponse checks a BundleResponse: the trust domain asked
// for and at least one CA certificate, every block a CA certificate. It
// returns the bundle re-encoded (so equal bundles compare equal).
func parseBundleResponse(b []byte, td string) ([]byte, error) {
	var r enrol.BundleResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("bundle answer: %w", err)
	}
	if r.TrustDomain != td {
		return nil, fmt.Errorf("bundle answer is for trust domain %q, not %q", r.TrustDomain, td)
	}
	certs, err := parseCerts([]byte(r.TrustBundle))
	if err != nil {
		return nil, fmt.Errorf("trust bundle: %w", err)
	}
	for _, c := range certs {
		if !c.IsCA || !c.BasicConstraintsValid {
			return nil, fmt.Errorf("trust bundle: %s is not a CA certificate", c.Subject)
		}
	}
	return encodeCerts(certs), nil
}

// BundlePoller refreshes the trust bundle between renewals, so a sidecar
// whose renewal is late still trusts a new root before any peer presents
// a certificate from it (the CA waits enrol.BundleLead before signing with
// it). It polls every Interval, jittered by ±enrol.BundleRefreshJitter;
// after a failure it retries sooner (from minRetry, doubling, never
// slower than Interval) and publishes at once when the fetch succeeds.
type BundlePoller struct {
	Enroller *Enroller
	ID       enrol.ID
	// Interval between polls (enrol.BundleRefreshInterval if 0).
	Interval time.Duration
	// Publish pushes a bundle, asked for at asked, to Envoy and reports
	// whether it differed from the one served (SDS.UpdateBundle).
	Publish func(bundlePEM []byte, asked time.Time) (changed bool, err error)
	Log     *slog.Logger
	Metrics *BundleMetrics
}

// BundleMetrics are the poller's Prometheus series.
type BundleMetrics struct {
	polls *prometheus.CounterVec
}

// NewBundleMetrics registers the series on reg (none if reg is nil).
func NewBundleMetrics(reg prometheus.Registerer) *BundleMetrics {
	m := &BundleMetrics{polls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trellis_sidecar_trust_bundle_polls_total",
		Help: "Trust bundle polls by result (unchanged, changed, error)."}, []string{"result"})}
	if reg != nil {
		reg.MustRegister(m.polls)
	}
	return m
}

// Run polls until ctx ends; it returns nil then.
func (p *BundlePoller) Run(ctx context.Context) error {
	wait, backoff := p.jittered(), time.Duration(0)
	for {
		if sleep(ctx, wait) != nil {
			return nil
		}
		err := p.poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait, backoff = p.next(backoff, err)
	}
}

// next is the wait after a poll that returned err, and the backoff to
// remember: a jittered Interval after a success or a refusal (the
// credentials must change first); after a failure, minRetry doubling per
// failure, never longer than Interval.
func (p *BundlePoller) next(backoff time.Duration, err error) (wait, nextBackoff time.Duration) {
	if err == nil || errors.Is(err, ErrRefused) {
		return p.jittered(), 0
	}
	iv := p.interval()
	backoff = min(max(2*backoff, minRetry), iv)
	return backoff, backoff
}

func (p *BundlePoller) poll(ctx context.Context) error {
	asked := time.Now()
	b, err := p.Enroller.Bundle(ctx, p.ID)
	changed := false
	if err == nil {
		changed, err = p.Publish(b, asked)
	}
	switch {
	case err != nil:
		p.count("error")
		p.log().Warn("svid: trust bundle poll failed", "spiffeId", p.ID.String(), "err", err)
	case changed:
		p.count("changed")
		p.log().Info("svid: new trust bundle pushed", "spiffeId", p.ID.String(), "roots", bytes.Count(b, []byte("BEGIN CERTIFICATE")))
	default:
		p.count("unchanged")
	}
	return err
}

func (p *BundlePoller) interval() time.Duration {
	if p.Interval > 0 {
		return p.Interval
	}
	return enrol.BundleRefreshInterval
}

// jittered is Interval ± up to enrol.BundleRefreshJitter of it, so the
// sidecars of a fleet started together do not poll together.
func (p *BundlePoller) jittered() time.Duration {
	iv := float64(p.interval())
	return time.Duration(iv + iv*enrol.BundleRefreshJitter*(2*rand.Float64()-1))
}

func (p *BundlePoller) count(result string) {
	if p.Metrics != nil {
		p.Metrics.polls.WithLabelValues(result).Inc()
	}
}

func (p *BundlePoller) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.New(slog.DiscardHandler)
}

// do sends req and returns the body of a 200 answer (bounded by
// maxResponse); a 4xx other than 429 wraps ErrRefused.
func (e *Enroller) do(req *http.Request) ([]byte, error) {
	c := e.Client
	if c == nil {
		c = http.DefaultClient
	}
	where := req.Method + " " + req.URL.Path
	res, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if res.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("%s: %s %s: %s", where, res.Status, res.Header.Get("X-Amzn-ErrorType"), bytes.TrimSpace(b))
		if res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusTooManyRequests {
			return nil, fmt.Errorf("%w: %s", ErrRefused, msg)
		}
		return nil, errors.New(msg)
	}
	if len(b) > maxResponse {
		return nil, fmt.Errorf("%s: answer larger than %d bytes", where, maxResponse)
	}
	return b, nil
}
