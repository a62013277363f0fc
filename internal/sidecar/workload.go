package sidecar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/svid"
	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

// DefaultTrustDomain is the CA's default trust domain.
const DefaultTrustDomain = "trellis.local"

// sigV4Service is the service enrolment requests are signed for: App
// Mesh's, whose appmesh:StreamAggregatedResources permission on the node's
// ARN is what the server checks.
const sigV4Service = "appmesh"

// WorkloadOptions turn on enrolment with the built-in CA (docs/mtls.md):
// the sidecar gets an SVID for its node and serves it, with the trust
// bundle, to Envoy over SDS on SDSSocketPath.
type WorkloadOptions struct {
	// JoinToken authenticates the enrolment (TRELLIS_JOIN_TOKEN).
	JoinToken string
	// SigV4 enrols without a token: the request is signed (service
	// appmesh) with the AWS credentials of the environment, whose
	// principal the server authorises for the node.
	SigV4 bool
	// TrustDomain of the node's SPIFFE id (default DefaultTrustDomain).
	TrustDomain string
	// CAEndpoint is the base URL of the CA's enrolment API (default the
	// API endpoint, where the server serves it).
	CAEndpoint string
	// XDSMTLS makes Envoy reach the xDS server over mTLS with the SVID
	// (a server run with --xds-mtls).
	XDSMTLS bool
	// Registerer, when set, receives the SVID metrics.
	Registerer prometheus.Registerer
}

// Enabled reports whether the sidecar enrols.
func (w WorkloadOptions) Enabled() bool { return w.JoinToken != "" || w.SigV4 }

func workloadFlags() []FlagSpec {
	return []FlagSpec{
		{Name: "join-token", Usage: "join `token` to enrol with the Trellis CA and serve the SVID to Envoy over SDS (env TRELLIS_JOIN_TOKEN; needs --api-endpoint or --ca-endpoint)"},
		{Name: "enrol-sigv4", Usage: "enrol with the Trellis CA without a join token, signing with the AWS credentials of the environment (env TRELLIS_ENROL_SIGV4)", Bool: true},
		{Name: "xds-mtls", Usage: "connect to xDS over mTLS with the SVID (env TRELLIS_XDS_MTLS; needs --join-token)", Bool: true},
		{Name: "ca-endpoint", Usage: "`URL` of the CA's enrolment API (env TRELLIS_CA_ENDPOINT; default --api-endpoint)"},
		{Name: "trust-domain", Usage: "SPIFFE trust `domain` of the CA (env TRELLIS_TRUST_DOMAIN; default " + DefaultTrustDomain + ")"},
	}
}

func (r *resolver) workload(apiEndpoint string) WorkloadOptions {
	w := WorkloadOptions{TrustDomain: DefaultTrustDomain}
	w.JoinToken, _, _ = r.lookup("join-token", "TRELLIS_JOIN_TOKEN")
	w.SigV4 = r.boolean("enrol-sigv4", "TRELLIS_ENROL_SIGV4")
	if w.SigV4 && w.JoinToken != "" {
		r.errs = append(r.errs, errors.New("--enrol-sigv4 and --join-token are exclusive"))
	}
	if v, from, ok := r.lookup("trust-domain", "TRELLIS_TRUST_DOMAIN"); ok {
		if !enrol.ValidTrustDomain(v) {
			r.fail(from, v, "not a SPIFFE trust domain (lower-case DNS name)")
		}
		w.TrustDomain = v
	}
	w.CAEndpoint = apiEndpoint
	if v, from, ok := r.lookup("ca-endpoint", "TRELLIS_CA_ENDPOINT"); ok {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail(from, v, "want an http:// or https:// URL")
		}
		w.CAEndpoint = v
	}
	w.XDSMTLS = r.boolean("xds-mtls", "TRELLIS_XDS_MTLS")
	if w.XDSMTLS && !w.Enabled() {
		r.errs = append(r.errs, errors.New("--xds-mtls needs --join-token or --enrol-sigv4: the SVID is the client certificate"))
	}
	if w.Enabled() && w.CAEndpoint == "" {
		r.errs = append(r.errs, errors.New("enrolment (--join-token, --enrol-sigv4) needs --ca-endpoint or --api-endpoint, where the CA signs"))
	}
	return w
}

// IdentityStatus is the SVID the sidecar serves, as /status shows it.
type IdentityStatus struct {
	SpiffeID string    `json:"spiffeId"`
	NotAfter time.Time `json:"notAfter"`
	RenewAt  time.Time `json:"renewAt"`
}

func identityStatus(sds *svid.SDS) func() *IdentityStatus {
	return func() *IdentityStatus {
		i := sds.Current()
		if i == nil {
			return nil
		}
		return &IdentityStatus{SpiffeID: i.ID.String(), NotAfter: i.NotAfter(), RenewAt: i.RenewAt()}
	}
}

// spiffeID is the node's SPIFFE id.
func (c *Config) spiffeID() enrol.ID {
	return enrol.ID{TrustDomain: c.Workload.TrustDomain, Mesh: c.Identity.Mesh, Kind: c.Identity.Kind, Name: c.Identity.Name}
}

// startWorkload enrols (blocking until the first SVID is served, ctx ends
// or the CA refuses), then serves SDS, renews and polls the trust bundle
// (svid.BundlePoller) in the background until
// bg ends (after Envoy has drained). The returned wait blocks until all
// have stopped. Without enrolment it does nothing.
func (s *sidecar) startWorkload(ctx, bg context.Context) (wait func(), err error) {
	c := &s.cfg
	if !c.Workload.Enabled() {
		return func() {}, nil
	}
	cleanup := func() {}
	if c.SDSSocketPath == "" {
		// A fresh directory: several sidecars may share a host (or a
		// process, in tests), and Unix socket paths must stay short.
		dir, err := os.MkdirTemp("", "trellis-sds-")
		if err != nil {
			return nil, fmt.Errorf("sds socket directory: %w", err)
		}
		cleanup = func() { os.RemoveAll(dir) }
		c.SDSSocketPath = filepath.Join(dir, "sds.sock")
	}
	log := s.log.With("component", "svid")
	sds := svid.NewSDS(log)
	s.identity = identityStatus(sds)
	enroller := &svid.Enroller{APIURL: c.Workload.CAEndpoint, Token: c.Workload.JoinToken}
	if c.Workload.SigV4 {
		if _, err := awscreds.Resolve(os.Getenv); err != nil {
			cleanup()
			return nil, fmt.Errorf("--enrol-sigv4: %w", err)
		}
		region := c.Registry.Region
		enroller.Sign = func(r *http.Request, body []byte) error {
			return awscreds.Sign(r, body, sigV4Service, os.Getenv, region)
		}
	}
	r := &svid.Renewer{
		Enroller: enroller,
		ID:       c.spiffeID(), Publish: sds.Update, Log: log, Metrics: svid.NewMetrics(c.Workload.Registerer),
	}
	first, err := r.First(ctx)
	if err != nil {
		cleanup()
		return nil, err
	}
	ln, err := svid.Listen(c.SDSSocketPath)
	if err != nil {
		cleanup()
		return nil, err
	}
	poller := &svid.BundlePoller{Enroller: enroller, ID: r.ID, Publish: sds.UpdateBundle, Log: log,
		Metrics: svid.NewBundleMetrics(c.Workload.Registerer)}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := sds.ServeListener(bg, ln); err != nil {
			log.Error("sds server stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := r.Run(bg, first); err != nil {
			log.Error("svid renewal stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		_ = poller.Run(bg)
	}()
	return func() { wg.Wait(); cleanup() }, nil
}

// xdsTLS is the bootstrap's xDS mTLS setting: the SVID and bundle from the
// sidecar's own SDS server.
func (w WorkloadOptions) xdsTLS() *bootstrap.XDSTLS {
	if !w.XDSMTLS {
		return nil
	}
	return &bootstrap.XDSTLS{CertSecret: svid.SVIDAlias, TrustSecret: w.TrustDomain}
}
