package main

import (
	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/server"
)

// addStoreFlags adds the store backend flags of `trellis server`.
func addStoreFlags(cmd *cobra.Command, sc *server.StoreConfig) {
	f := cmd.Flags()
	f.StringVar(&sc.Kind, "store", server.StoreBolt, "state backend: bolt (one replica, a file under --data-dir) or etcd (several replicas on one etcd cluster; see docs/ha.md)")
	f.StringSliceVar(&sc.EtcdEndpoints, "etcd-endpoints", nil, "etcd client URLs, comma-separated (http://10.0.0.1:2379,...; https:// with the --etcd-cert/--etcd-key/--etcd-ca flags)")
	f.StringVar(&sc.EtcdPrefix, "etcd-prefix", "/trellis/", "etcd key prefix of this control plane; its replicas share it")
	f.StringVar(&sc.EtcdCert, "etcd-cert", "", "PEM client certificate for etcd over TLS")
	f.StringVar(&sc.EtcdKey, "etcd-key", "", "PEM private key of --etcd-cert")
	f.StringVar(&sc.EtcdCA, "etcd-ca", "", "PEM CA bundle that signed the etcd servers' certificates")
	f.DurationVar(&sc.ElectionTTL, "election-ttl", 0, "lease lifetime of the replica that runs once-only work (registry expiry); a dead leader is replaced after about this long (default 10s)")
}
