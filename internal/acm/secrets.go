package acm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/trellis-mesh/trellis/internal/store"
)

// Material is what a secret name resolves to: a certificate chain and
// its private key, or a trust bundle (Bundle alone).
type Material struct {
	Chain  []byte // leaf then intermediates (PEM)
	Key    []byte // PEM private key
	Bundle []byte // PEM CA certificates
}

// TrustName is the secret name of a validation context trusting the CA
// bundles of the given ACM-PCA ARNs: the ARNs joined by commas, in the
// order the spec lists them (irgen builds the same name; ARNs hold no
// comma).
func TrustName(caARNs []string) string { return strings.Join(caARNs, ",") }

// Secrets follows the store's ACM records and resolves secret names to
// their material, with private keys opened. It is the cache of the ACM
// range: owner, the server (created once, passed to the reconciler);
// bound, the records in the store; invalidation, the store's watch (a
// compacted watch reloads everything).
type Secrets struct {
	st     store.Store
	sealer Sealer
	log    *slog.Logger

	mu      sync.RWMutex
	certs   map[string]Material // by certificate ARN
	cas     map[string][]byte   // bundle by CA ARN
	bad     map[string]bool     // store keys of records left out
	rev     int64
	changed chan struct{}
}

// NewSecrets returns a Secrets over st; call Run to follow it.
func NewSecrets(st store.Store, sealer Sealer, log *slog.Logger) *Secrets {
	if log == nil {
		log = slog.Default()
	}
	return &Secrets{st: st, sealer: sealer, log: log, certs: map[string]Material{}, cas: map[string][]byte{}, bad: map[string]bool{},
		changed: make(chan struct{}, 1)}
}

// Run loads every record, then applies the store's changes until ctx
// ends (nil) or the watch fails for another reason than compaction.
func (s *Secrets) Run(ctx context.Context) error {
	for {
		kvs, rev, err := s.st.List(ctx, KeyPrefix, store.ListOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("acm: list store: %w", err)
		}
		certs, cas, bad := map[string]Material{}, map[string][]byte{}, map[string]bool{}
		for _, kv := range kvs {
			if !s.decode(kv.Key, kv.Value, certs, cas) {
				bad[kv.Key] = true
			}
		}
		s.swap(rev, func() { s.certs, s.cas, s.bad = certs, cas, bad })
		err = s.follow(ctx, rev)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, store.ErrCompacted) {
			return err
		}
		s.log.Warn("acm: watch fell behind the store's history; reloading", "revision", rev)
	}
}

func (s *Secrets) follow(ctx context.Context, rev int64) error {
	ch, err := s.st.Watch(ctx, KeyPrefix, rev)
	if err != nil {
		return fmt.Errorf("acm: watch store: %w", err)
	}
	for resp := range ch {
		if resp.Err != nil {
			return resp.Err
		}
		s.swap(resp.Revision, func() {
			for _, ev := range resp.Events {
				delete(s.certs, arnOf(ev.KV.Key))
				delete(s.cas, arnOf(ev.KV.Key))
				delete(s.bad, ev.KV.Key)
				if ev.Type == store.EventPut && !s.decode(ev.KV.Key, ev.KV.Value, s.certs, s.cas) {
					s.bad[ev.KV.Key] = true
				}
			}
		})
	}
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("acm: store watch ended")
}

// swap applies f under the write lock and wakes Next.
func (s *Secrets) swap(rev int64, f func()) {
	s.mu.Lock()
	f()
	s.rev = rev
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// decode adds one record; an unreadable one is logged and left out (its
// ARN then resolves to nothing, which is safe: no TLS rather than wrong
// TLS), and decode returns false.
func (s *Secrets) decode(key string, value []byte, certs map[string]Material, cas map[string][]byte) bool {
	var r record
	if err := json.Unmarshal(value, &r); err != nil {
		s.log.Error("acm: skipping undecodable record", "key", key, "err", err)
		return false
	}
	switch r.Kind {
	case KindCertificate:
		k, err := s.sealer.Open(r.SealedKey, []byte(r.ARN))
		if err != nil {
			s.log.Error("acm: private key does not open; is this the key file it was imported with?", "arn", r.ARN, "err", err)
			return false
		}
		certs[r.ARN] = Material{Chain: []byte(r.CertPEM + r.ChainPEM), Key: k}
	case KindCA:
		cas[r.ARN] = []byte(r.BundlePEM)
	default:
		s.log.Error("acm: skipping record of unknown kind", "key", key, "kind", r.Kind)
		return false
	}
	return true
}

func arnOf(key string) string {
	i := strings.LastIndexByte(key, '/')
	arn, err := unescape(key[i+1:])
	if err != nil {
		return ""
	}
	return arn
}

// Next waits until the records changed since the last call (coalesced).
func (s *Secrets) Next(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.changed:
		return nil
	}
}

// Lookup resolves a secret name: a certificate ARN, or a TrustName. A
// trust name resolves to the bundles of its registered CAs (an
// unregistered one adds nothing: trusting fewer CAs is the safe side)
// and to nothing when none is registered.
func (s *Secrets) Lookup(name string) (Material, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !strings.Contains(name, ":acm-pca:") {
		m, ok := s.certs[name]
		return m, ok
	}
	var bundle []byte
	for _, arn := range strings.Split(name, ",") {
		if b, ok := s.cas[arn]; ok {
			bundle = append(bundle, b...)
			if len(b) > 0 && b[len(b)-1] != '\n' {
				bundle = append(bundle, '\n')
			}
		}
	}
	if bundle == nil {
		return Material{}, false
	}
	return Material{Bundle: bundle}, true
}

// Revision is the store revision the records were last read at.
func (s *Secrets) Revision() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rev
}
