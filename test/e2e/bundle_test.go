package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/svid"
)

// bundleTTL is the SVID lifetime of TestBundleRefreshAcrossRotation: long
// enough that neither old-root proxy renews (nor expires) during the run,
// so the only way the server side learns the new root is its bundle poll.
const bundleTTL = 80 * time.Second

// TestBundleRefreshAcrossRotation (issue 13 follow-up): secure's renewal
// is late (it never renews here); the CA rotates. secure's bundle poll
// alone brings the new root to its Envoy before the CA signs with it; a
// new proxy holding a new-root certificate then calls secure, while an
// old-root caller keeps calling throughout: no request fails. Without the
// poll, every new-root call would be refused by secure's Envoy.
func TestBundleRefreshAcrossRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ~1 minute: waits out the new root's lead")
	}
	const refresh = time.Second
	wca := startWorkloadCAWith(t, ca.Options{SVIDTTL: bundleTTL, BundleRefresh: refresh})
	m := setupBundleMesh(t, wca)
	startBundlePoller(t, m.secure, refresh)
	m.expectCallerID(t)

	ctx, stop := context.WithCancel(t.Context())
	old := runLoad(ctx, m.c, m.frontAddr, "secure.local", 50, 4)
	if err := wca.ca.Rotate(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	rotated := time.Now()
	t.Logf("CA rotated; the new root signs after %s", enrol.BundleLead(refresh, bundleTTL))
	eventually(t, enrol.BundleLead(refresh, bundleTTL)+15*time.Second, newRootActive(wca.ca))
	t.Logf("new root active after %s", time.Since(rotated).Round(time.Second))
	if n := bytes.Count(m.secure.sds.Current().BundlePEM, []byte("BEGIN CERTIFICATE")); n != 2 {
		t.Fatalf("secure serves a bundle of %d roots when the new root starts signing, want 2", n)
	}

	front2 := wca.enrolProxy(t, "idm", "front2", false)
	cur := m.secure.sds.Current().Leaf
	if bytes.Equal(front2.sds.Current().Leaf.AuthorityKeyId, cur.AuthorityKeyId) {
		t.Fatal("front2's certificate is from the old root")
	}
	m.cp.node(t, "idm", "front2", nodeSpec("", 0, "", "secure.local"))
	ip := loopbackIP()
	startEnvoy(t, m.cp, proxyConfig{NodeID: "mesh/idm/virtualNode/front2", IP: ip, SDSSocket: front2.sock, TrustDomain: td})
	front2Addr := fmt.Sprintf("%s:%d", ip, tlsPort)
	eventually(t, 20*time.Second, m.c.expectBody(front2Addr, "secure.local", "/", nil, "secure"))
	fresh := runLoad(ctx, m.c, front2Addr, "secure.local", 50, 4)
	time.Sleep(5 * time.Second)
	stop()
	old.wait()
	fresh.wait()

	if err := m.c.expectBody(front2Addr, "secure.local", "/", nil, "secure")(); err != nil {
		t.Fatal(err)
	}
	if xfcc := m.app.lastH.Load().Get("X-Forwarded-Client-Cert"); !strings.Contains(xfcc, "URI="+front2.id.String()) {
		t.Errorf("x-forwarded-client-cert %q does not name front2 (new root)", xfcc)
	}
	if m.secure.renewals.Load() != 1 || !time.Now().Before(cur.NotAfter) {
		t.Errorf("secure renewed (%d enrolments) or its certificate expired: the test proves nothing", m.secure.renewals.Load())
	}
	t.Logf("old-root caller: ok=%d failed=%d; new-root caller: ok=%d failed=%d",
		old.ok.Load(), old.failed.Load(), fresh.ok.Load(), fresh.failed.Load())
	for name, l := range map[string]*load{"old-root caller": old, "new-root caller": fresh} {
		if l.failed.Load() != 0 || l.ok.Load() == 0 {
			t.Errorf("%s: ok=%d failed=%d: %v", name, l.ok.Load(), l.failed.Load(), l.failures)
		}
	}
}

// setupBundleMesh is setupSDSMesh over wca, under auto-mTLS, with no
// renewals.
func setupBundleMesh(t *testing.T, wca *workloadCA) *sdsMesh {
	t.Helper()
	return meshOverCA(t, wca, autoMTLSTags, false)
}

// startBundlePoller runs wl's trust-bundle poll, as `trellis sidecar`
// does, until the test ends.
func startBundlePoller(t *testing.T, wl *workload, every time.Duration) {
	p := &svid.BundlePoller{Enroller: wl.enroller, ID: wl.id, Interval: every, Publish: wl.sds.UpdateBundle}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// newRootActive is an eventually-condition: an authority other than the
// first signs.
func newRootActive(c *ca.CA) func() error {
	return func() error {
		info, err := c.Info(context.Background())
		if err != nil {
			return err
		}
		for i, a := range info.Authorities {
			if a.Active && i > 0 {
				return nil
			}
		}
		return errors.New("the old root still signs")
	}
}
