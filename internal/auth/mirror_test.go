package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
)

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestMirror: the mirror follows creations, status changes, policy edits
// and deletions; its size gauge equals the store's auth/ entries; after
// Run stops, reads go to the store.
func TestMirror(t *testing.T) {
	keys, _ := newTestKeys(t)
	ctx, cancel := context.WithCancel(context.Background())
	const arn = "arn:aws:iam::111122223333:user/m"
	keys.CreatePrincipal(ctx, arn)
	c1, _ := keys.CreateKey(ctx, arn, 0)
	m := NewMirror(keys, nil, slog.Default())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := m.Run(ctx); err != nil {
			t.Errorf("mirror: %v", err)
		}
	}()
	must(t, m.WaitLoaded(ctx))
	if s, _, err := m.Secret(ctx, c1.AccessKeyID, ""); err != nil || s != c1.SecretAccessKey {
		t.Fatalf("loaded key: %v", err)
	}
	for _, region := range []string{"us-east-1", "us-east-1", "eu-west-1"} { // second: cached; third: new scope
		k, _, err := m.SigningKey(ctx, c1.AccessKeyID, "", "20260101", region, "appmesh")
		if err != nil || !bytes.Equal(k.Bytes(), sigv4.SigningKey(c1.SecretAccessKey, "20260101", region, "appmesh")) {
			t.Fatalf("signing key for %s: %v", region, err)
		}
	}
	c2, _ := keys.CreateKey(ctx, arn, 0)
	eventually(t, "new key mirrored", func() bool {
		m.mu.RLock()
		defer m.mu.RUnlock()
		return m.akids[c2.AccessKeyID] != nil
	})
	if got := gauge(m); got != 3 {
		t.Fatalf("entries %v, want 3 (1 principal, 2 keys)", got)
	}
	must(t, keys.SetKeyStatus(ctx, c1.AccessKeyID, StatusInactive))
	eventually(t, "disabled key refused", func() bool {
		_, _, err := m.Secret(ctx, c1.AccessKeyID, "")
		return errors.Is(err, ErrNotFound)
	})
	must(t, keys.SetPolicy(ctx, arn, "p", []byte(`{"Statement":[]}`)))
	eventually(t, "policy mirrored", func() bool {
		p, _, err := m.Principal(ctx, arn)
		return err == nil && p.Policies["p"] != nil
	})
	must(t, keys.DeleteKey(ctx, c2.AccessKeyID))
	eventually(t, "deleted key gone", func() bool {
		_, _, err := m.Secret(ctx, c2.AccessKeyID, "")
		return errors.Is(err, ErrNotFound)
	})
	if got := gauge(m); got != 2 {
		t.Fatalf("entries %v, want 2", got)
	}
	cancel()
	wg.Wait()
	must(t, keys.SetKeyStatus(context.Background(), c1.AccessKeyID, StatusActive))
	if _, _, err := m.Secret(context.Background(), c1.AccessKeyID, ""); err != nil {
		t.Fatalf("stopped mirror must read the store: %v", err)
	}
}

func gauge(m *Mirror) float64 {
	var mm dto.Metric
	m.entries.Write(&mm)
	return mm.GetGauge().GetValue()
}
