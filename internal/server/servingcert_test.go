package server

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// TestServingCertRenewal: the xDS server certificate is reused while the
// bundle is unchanged and reissued by the new root after an immediate
// rotation.
func TestServingCertRenewal(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, _ := ca.NewAESGCM(make([]byte, ca.KeySize))
	c, err := ca.New(ca.Options{Store: st, Sealer: sealer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	sc := &servingCert{ca: c, dns: []string{"localhost"}, ips: xdsIPs("127.0.0.1:0")}
	first, err := sc.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := sc.get(nil)
	if again != first {
		t.Error("certificate reissued with an unchanged bundle")
	}
	time.Sleep(10 * time.Millisecond)
	if err := c.Rotate(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	after, err := sc.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(after.Leaf.AuthorityKeyId, first.Leaf.AuthorityKeyId) {
		t.Error("certificate still signed by the dropped root after an immediate rotation")
	}
}
