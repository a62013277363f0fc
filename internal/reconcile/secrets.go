package reconcile

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/trellis-mesh/trellis/internal/acm"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/xdsgen"
)

// Secrets resolves the secrets the control plane serves on a proxy's own
// ADS stream (ir.CertSource.ADSSecret: ACM certificate and CA ARNs), and
// reports when they change (*acm.Secrets).
type Secrets interface {
	Lookup(name string) (acm.Material, bool)
	Next(ctx context.Context) error
}

// proxySecrets is what a proxy's configuration references of the control
// plane's secrets: the resources found, the names not found, and a
// fingerprint of both (a certificate replaced under the same ARN changes
// it, so the proxy is published again).
type proxySecrets struct {
	res     []types.Resource
	missing []string
	fp      fingerprint
}

// secretsFor resolves the ADS secrets a proxy's parts reference. Only
// those are sent to it. A name nothing resolves is left out: Envoy waits
// for it (the listener or cluster warms without it after the initial
// fetch timeout, and its TLS then fails), and the proxy carries a warning.
func (r *Reconciler) secretsFor(parts []*ir.Proxy) (proxySecrets, error) {
	var out proxySecrets
	if r.secrets == nil {
		return out, nil
	}
	seen := map[string]bool{}
	h := sha256.New()
	for _, part := range parts {
		for _, name := range part.ADSSecrets() {
			if seen[name] {
				continue
			}
			seen[name] = true
			m, ok := r.secrets.Lookup(name)
			if !ok {
				out.missing = append(out.missing, name)
				fmt.Fprintf(h, "missing %q\n", name)
				continue
			}
			s, err := secretResource(name, m)
			if err != nil {
				return out, err
			}
			out.res = append(out.res, s)
			fmt.Fprintf(h, "secret %q %d:%x %d:%x %d:%x\n", name, len(m.Chain), m.Chain, len(m.Key), m.Key, len(m.Bundle), m.Bundle)
		}
	}
	copy(out.fp[:], h.Sum(nil))
	return out, nil
}

func secretResource(name string, m acm.Material) (types.Resource, error) {
	if m.Key != nil {
		return xdsgen.CertificateSecret(name, m.Chain, m.Key)
	}
	return xdsgen.TrustSecret(name, m.Bundle)
}

// warnings are the proxy's warnings for the secrets not found.
func (ps proxySecrets) warnings() []string {
	var out []string
	for _, n := range ps.missing {
		out = append(out, fmt.Sprintf("ACM %s is not imported in Trellis (trellis acm import / register-ca): the TLS that names it is not served", n))
	}
	return out
}

// withSecrets adds the secrets to a proxy's resources. res may be shared
// with other proxies (the merge memo), so it is copied, never written.
func withSecrets(res map[string][]types.Resource, ps proxySecrets) map[string][]types.Resource {
	if len(ps.res) == 0 {
		return res
	}
	out := maps.Clone(res)
	out[xdsgen.SecretType] = ps.res
	return out
}

// watchSecrets rebuilds every mesh's proxies when the secrets change; a
// proxy whose secrets did not change is not published again.
func (r *Reconciler) watchSecrets(ctx context.Context, out chan<- []string) error {
	for {
		if err := r.secrets.Next(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reconcile: acm secrets: %w", err)
		}
		snap := r.view.Current()
		if snap == nil {
			continue
		}
		select {
		case out <- snap.MeshNames():
		case <-ctx.Done():
			return nil
		}
	}
}
