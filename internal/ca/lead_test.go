package ca

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// TestRotationLead: a rotated-in root signs only once it has been in the
// bundle for longer than the sidecars' longest poll gap plus the margin,
// and never before half an SVID lifetime.
func TestRotationLead(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ttl      time.Duration
		refresh  time.Duration
		wantLead time.Duration
	}{
		{"short ttl: the poll gap and margin rule", time.Minute, 0, 36*time.Second + enrol.BundleRefreshMargin},
		{"default ttl: half a lifetime rules", time.Hour, 0, 30 * time.Minute},
		{"slow polls", 2 * time.Minute, 5 * time.Minute, 6*time.Minute + enrol.BundleRefreshMargin},
		{"fast polls, short ttl", time.Minute, 2 * time.Second, 30*time.Second + 2400*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := enrol.BundleLead(tc.refresh, tc.ttl); got != tc.wantLead {
				t.Fatalf("BundleLead(%s, %s) = %s, want %s", tc.refresh, tc.ttl, got, tc.wantLead)
			}
			clk := &clock{t: time.Now()}
			c, err := New(Options{Store: openStore(t), Sealer: testSealer(t), SVIDTTL: tc.ttl, BundleRefresh: tc.refresh,
				Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Ensure(t.Context()); err != nil {
				t.Fatal(err)
			}
			csrPEM, _ := csrFor(t, nodeURI)
			csr, id, _ := ParseCSR(csrPEM, c.TrustDomain())
			before, err := c.Sign(t.Context(), csr, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Rotate(t.Context(), false); err != nil {
				t.Fatal(err)
			}
			clk.Add(tc.wantLead - time.Second)
			early, _ := c.Sign(t.Context(), csr, id)
			if !bytes.Equal(early.Leaf.AuthorityKeyId, before.Leaf.AuthorityKeyId) {
				t.Errorf("new root signs %s after the rotation, before its lead %s", tc.wantLead-time.Second, tc.wantLead)
			}
			clk.Add(2 * time.Second)
			late, _ := c.Sign(t.Context(), csr, id)
			if bytes.Equal(late.Leaf.AuthorityKeyId, before.Leaf.AuthorityKeyId) {
				t.Errorf("old root still signs after the lead %s", tc.wantLead)
			}
		})
	}
}
