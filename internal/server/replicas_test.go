package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/prototext"

	_ "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3" // prototext of Cluster resources

	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/store"
	etcdstore "github.com/trellis-mesh/trellis/internal/store/etcd"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

const clusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster"

// startReplica starts an in-process replica (API and xDS on free ports)
// on cluster c under prefix. stop runs at most once, also on cleanup.
func startReplica(t *testing.T, c *etcdtest.Cluster, prefix string) (*server.Server, func() error) {
	t.Helper()
	cfg := config(t.TempDir())
	cfg.XDSAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Store = server.StoreConfig{Kind: server.StoreEtcd, EtcdEndpoints: c.Endpoints(), EtcdPrefix: prefix,
		ElectionTTL: 2 * time.Second}
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("server.Start (etcd): %v", err)
	}
	stop := sync.OnceValue(s.Stop)
	t.Cleanup(func() { _ = stop() })
	return s, stop
}

// retryingClient is the SDK client with its default retryer: a call that
// meets an etcd leader change (a 500) is retried with the same clientToken,
// as users' tools do. Tests that count outcomes use newClient instead.
func retryingClient(addr string) *appmesh.Client {
	return appmesh.New(appmesh.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String("http://" + addr),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
}

// readyz fetches a replica's /readyz.
func readyz(t *testing.T, s *server.Server) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr() + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode /readyz: %v", err)
	}
	return resp.StatusCode, body
}

// adsWatch is a minimal simulated Envoy: one ADS stream asking for
// clusters as node, ACKing every response, handing their text out.
func adsWatch(t *testing.T, addr, node string) <-chan string {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc client: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(t.Context())
	if err != nil {
		t.Fatalf("ADS stream: %v", err)
	}
	req := &discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: node, Cluster: node}, TypeUrl: clusterType}
	if err := st.Send(req); err != nil {
		t.Fatalf("ADS send: %v", err)
	}
	out := make(chan string, 16)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	wg.Go(func() {
		defer close(out)
		for {
			resp, err := st.Recv()
			if err != nil {
				return
			}
			select {
			case out <- prototext.Format(resp):
			case <-t.Context().Done():
				return
			}
			req.VersionInfo, req.ResponseNonce = resp.VersionInfo, resp.Nonce
			if st.Send(req) != nil {
				return
			}
		}
	})
	return out
}

// waitConfig waits for a pushed configuration that contains want.
func waitConfig(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case cfg, ok := <-ch:
			if !ok {
				t.Fatalf("ADS stream ended before a config with %q", want)
			}
			if strings.Contains(strings.Join(strings.Fields(cfg), ""), want) {
				return
			}
			t.Logf("config without %q: %.300s", want, cfg)
		case <-timeout:
			t.Fatalf("no config with %q within 30s", want)
		}
	}
}

func localNode(port int32) *types.VirtualNodeSpec {
	spec := dnsNode("front.local")
	spec.Listeners[0].PortMapping.Port = aws.Int32(port)
	return spec
}

// TestReplicasShareWrites runs two replicas on a 3-member etcd cluster: a
// write through replica A's App Mesh API reaches the xDS config replica B
// serves, both report ready, and exactly one leads.
func TestReplicasShareWrites(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, _ := startReplica(t, c, "/share/")
	b, _ := startReplica(t, c, "/share/")
	ca := retryingClient(a.Addr())
	mustMesh(t, ca)
	_, err := ca.CreateVirtualNode(t.Context(), &appmesh.CreateVirtualNodeInput{MeshName: aws.String(testMesh),
		VirtualNodeName: aws.String("front"), Spec: localNode(8080)})
	if err != nil {
		t.Fatalf("CreateVirtualNode via A: %v", err)
	}
	cfgs := adsWatch(t, b.XDSAddr(), "mesh/"+testMesh+"/virtualNode/front")
	waitConfig(t, cfgs, "port_value:8080")
	start := time.Now()
	_, err = ca.UpdateVirtualNode(t.Context(), &appmesh.UpdateVirtualNodeInput{MeshName: aws.String(testMesh),
		VirtualNodeName: aws.String("front"), Spec: localNode(9090)})
	if err != nil {
		t.Fatalf("UpdateVirtualNode via A: %v", err)
	}
	waitConfig(t, cfgs, "port_value:9090")
	t.Logf("an update through replica A reached replica B's proxy in %v", time.Since(start))
	if _, err := retryingClient(b.Addr()).DescribeVirtualNode(t.Context(), &appmesh.DescribeVirtualNodeInput{
		MeshName: aws.String(testMesh), VirtualNodeName: aws.String("front")}); err != nil {
		t.Fatalf("DescribeVirtualNode via B: %v", err)
	}
	leaders := 0
	for _, s := range []*server.Server{a, b} {
		code, body := readyz(t, s)
		if code != http.StatusOK {
			t.Fatalf("/readyz = %d %v, want 200", code, body)
		}
		if body["leader"] == true {
			leaders++
		}
	}
	if leaders > 1 {
		t.Fatalf("%d replicas lead, want at most 1", leaders)
	}
}

// TestReplicaLeaderFailover stops the leading replica and checks that the
// other takes over the once-only work.
func TestReplicaLeaderFailover(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, stopA := startReplica(t, c, "/failover/")
	b, stopB := startReplica(t, c, "/failover/")
	leader := func() *server.Server {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			for _, s := range []*server.Server{a, b} {
				if _, body := readyz(t, s); body["leader"] == true {
					return s
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("no replica leads within 30s")
		return nil
	}
	first, stop, other := a, stopA, b
	if leader() == b {
		first, stop, other = b, stopB, a
	}
	// The election's keys live beside the store's prefix, never in it.
	st, err := etcdstore.Open(t.Context(), etcdstore.Options{Endpoints: c.Endpoints(), Prefix: "/failover/"})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer st.Close()
	kvs, _, err := st.List(t.Context(), "", store.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, kv := range kvs {
		if strings.Contains(kv.Key, "election") {
			t.Fatalf("election key %q inside the store's prefix", kv.Key)
		}
	}
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("stop leader: %v", err)
	}
	if _, body := readyz(t, other); body["leader"] != true {
		deadline := time.Now().Add(30 * time.Second)
		for body["leader"] != true && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			_, body = readyz(t, other)
		}
		if body["leader"] != true {
			t.Fatal("the remaining replica did not take over leadership")
		}
	}
	t.Logf("leadership moved from %s to %s in %v after the leader stopped", first.Addr(), other.Addr(), time.Since(start))
}

// waitReady polls /readyz until 200 or fails after 30 s.
func waitReady(t *testing.T, s *server.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if code, _ := readyz(t, s); code == http.StatusOK {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("replica %s not ready within 30s", s.Addr())
}

// TestEtcdClientTLS runs a replica against etcd that requires client
// certificates, configured with the --etcd-cert/--etcd-key/--etcd-ca
// settings, and checks that without them the server refuses to start.
func TestEtcdClientTLS(t *testing.T) {
	tc := etcdtest.NewTLS(t)
	c := etcdtest.StartTLS(t, 1, tc)
	cfg := config(t.TempDir())
	cfg.Store = server.StoreConfig{Kind: server.StoreEtcd, EtcdEndpoints: c.Endpoints(), EtcdPrefix: "/tls/",
		EtcdCert: tc.ClientCert, EtcdKey: tc.ClientKey, EtcdCA: tc.CA}
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("server.Start with etcd client TLS: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	mustMesh(t, newClient(s.Addr()))
	waitReady(t, s)

	cfg.Store.EtcdCert, cfg.Store.EtcdKey = "", ""
	cfg.APIAddr = "127.0.0.1:0"
	if s2, err := server.Start(cfg); err == nil {
		_ = s2.Stop()
		t.Fatal("server started against client-cert etcd without a client certificate")
	} else {
		t.Logf("without a client certificate: %v", err)
	}
}

// TestStopWithEtcdGone: a replica whose etcd cluster is gone still stops
// (an election campaign's clean-up must not wait for etcd forever).
func TestStopWithEtcdGone(t *testing.T) {
	c := etcdtest.Start(t, 1)
	first, _ := startReplica(t, c, "/gone/")
	s, stop := startReplica(t, c, "/gone/") // campaigns behind first
	_ = first
	waitReady(t, s)
	c.Kill(t, 0)
	done := make(chan error, 1)
	go func() { done <- stop() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Stop did not return within 60s with etcd gone")
	}
}
