package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/election"
	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
	etcdstore "github.com/trellis-mesh/trellis/internal/store/etcd"
)

// Store backends of StoreConfig.Kind.
const (
	StoreBolt = "bolt"
	StoreEtcd = "etcd"
)

// StoreConfig selects where state lives. The zero value is the embedded
// bbolt file under Config.DataDir (one replica).
type StoreConfig struct {
	// Kind is StoreBolt (default when empty) or StoreEtcd.
	Kind string
	// EtcdEndpoints are the etcd client URLs (StoreEtcd only).
	EtcdEndpoints []string
	// EtcdPrefix is the key prefix of this Trellis in etcd; empty means
	// etcdstore.DefaultPrefix. Replicas of one control plane share it.
	EtcdPrefix string
	// EtcdCert and EtcdKey are a PEM client certificate and key, EtcdCA a
	// PEM CA bundle, for etcd over TLS (https:// endpoints).
	EtcdCert, EtcdKey, EtcdCA string
	// ElectionTTL is the lease lifetime of the once-only work's leader;
	// 0 means election.DefaultTTL.
	ElectionTTL time.Duration
	// ReplicaID names this replica in the election; empty means the
	// hostname, API address and process id.
	ReplicaID string
	// Registerer, when set, gets the etcd store's and the election's
	// metrics (trellis_etcd_*, trellis_election_leader).
	Registerer prometheus.Registerer
}

// openStore opens the configured store and the elector of the work that
// must run on one replica at a time.
func openStore(cfg Config) (store.Store, election.Elector, string, error) {
	switch cfg.Store.Kind {
	case "", StoreBolt:
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, nil, "", fmt.Errorf("create data dir: %w", err)
		}
		dbPath := filepath.Join(cfg.DataDir, "trellis.db")
		st, err := bolt.Open(dbPath, bolt.Options{Logger: cfg.Logger})
		if err != nil {
			return nil, nil, "", fmt.Errorf("open store %s: %w", dbPath, err)
		}
		return st, election.Local{}, dbPath, nil
	case StoreEtcd:
		return openEtcd(cfg)
	}
	return nil, nil, "", fmt.Errorf("unknown store %q (want %s or %s)", cfg.Store.Kind, StoreBolt, StoreEtcd)
}

// OpenStore opens the store cfg selects, for offline tools (trellis
// restore); the caller closes it. It returns a description for messages.
func OpenStore(cfg Config) (store.Store, string, error) {
	st, _, desc, err := openStore(cfg)
	return st, desc, err
}

func openEtcd(cfg Config) (store.Store, election.Elector, string, error) {
	sc := cfg.Store
	if len(sc.EtcdEndpoints) == 0 {
		return nil, nil, "", errors.New("--store etcd needs --etcd-endpoints")
	}
	tlsCfg, err := etcdTLS(sc)
	if err != nil {
		return nil, nil, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := etcdstore.Options{Endpoints: sc.EtcdEndpoints, Prefix: sc.EtcdPrefix,
		TLS: tlsCfg, Logger: cfg.Logger, ReadCache: true, Registerer: sc.Registerer}
	st, err := etcdstore.Open(ctx, opts)
	if err != nil {
		return nil, nil, "", fmt.Errorf("open etcd store: %w", err)
	}
	id := sc.ReplicaID
	if id == "" {
		host, _ := os.Hostname()
		id = fmt.Sprintf("%s/%s/%d", host, cfg.APIAddr, os.Getpid())
	}
	// The election lives beside the store's prefix, not under it: its keys
	// are leases of running replicas, never data (a backup of the store must
	// not carry them).
	key := strings.TrimSuffix(st.Prefix(), "/") + ".election/registry"
	el := election.NewEtcdConfig(etcdstore.ClientConfig(opts), election.Options{Key: key,
		ID: id, TTL: sc.ElectionTTL, Logger: cfg.Logger, Registerer: sc.Registerer})
	return st, el, fmt.Sprintf("etcd %v prefix %s", sc.EtcdEndpoints, st.Prefix()), nil
}

// etcdTLS builds the etcd client's TLS configuration; nil means plaintext.
func etcdTLS(sc StoreConfig) (*tls.Config, error) {
	if sc.EtcdCert == "" && sc.EtcdKey == "" && sc.EtcdCA == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if (sc.EtcdCert == "") != (sc.EtcdKey == "") {
		return nil, errors.New("etcd client tls needs both --etcd-cert and --etcd-key")
	}
	if sc.EtcdCert != "" {
		cert, err := tls.LoadX509KeyPair(sc.EtcdCert, sc.EtcdKey)
		if err != nil {
			return nil, fmt.Errorf("load etcd client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	if sc.EtcdCA != "" {
		pem, err := os.ReadFile(sc.EtcdCA)
		if err != nil {
			return nil, fmt.Errorf("read etcd ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd ca %s: no PEM certificate", sc.EtcdCA)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// readSessions gives each API request its own etcd read session, so the
// reads of one request share one fence of the read cache (see
// etcdstore.WithReadSession); bolt needs none.
func readSessions(cfg Config, h http.Handler) http.Handler {
	if cfg.Store.Kind != StoreEtcd {
		return h
	}
	return etcdstore.ReadSessions(h)
}
