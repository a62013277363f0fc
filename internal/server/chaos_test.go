package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// opRecord is one SDK call of a chaos run.
type opRecord struct {
	name       string
	start, end time.Time
	ok         bool
}

// writeLoad creates virtual nodes through several replicas from several
// goroutines until stop is closed, and records every call.
type writeLoad struct {
	mu  sync.Mutex
	ops []opRecord
}

func (w *writeLoad) run(t *testing.T, clients []*appmesh.Client, perClient int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for ci, c := range clients {
		for g := range perClient {
			wg.Go(func() {
				for j := 0; ; j++ {
					select {
					case <-stop:
						return
					default:
					}
					name := fmt.Sprintf("r%d-g%d-%d", ci, g, j)
					start := time.Now()
					_, err := c.CreateVirtualNode(t.Context(), &appmesh.CreateVirtualNodeInput{MeshName: aws.String(testMesh),
						VirtualNodeName: aws.String(name), Spec: dnsNode(name + ".local")})
					w.mu.Lock()
					w.ops = append(w.ops, opRecord{name: name, start: start, end: time.Now(), ok: err == nil})
					w.mu.Unlock()
					if err != nil {
						time.Sleep(20 * time.Millisecond)
					}
				}
			})
		}
	}
	return &wg
}

// outage is the time from at until the first call that started after at
// succeeded (how long the API was unavailable to new requests).
func (w *writeLoad) outage(at time.Time) time.Duration {
	first := time.Time{}
	for _, op := range w.ops {
		if op.ok && !op.start.Before(at) && (first.IsZero() || op.end.Before(first)) {
			first = op.end
		}
	}
	if first.IsZero() {
		return -1
	}
	return first.Sub(at)
}

// verify describes every acknowledged create through c and returns the
// counts: acknowledged, failed calls, acknowledged but lost.
func (w *writeLoad) verify(t *testing.T, c *appmesh.Client) (acked, failed, lost int) {
	t.Helper()
	for _, op := range w.ops {
		if !op.ok {
			failed++
			continue
		}
		acked++
		if _, err := c.DescribeVirtualNode(t.Context(), &appmesh.DescribeVirtualNodeInput{
			MeshName: aws.String(testMesh), VirtualNodeName: aws.String(op.name)}); err != nil {
			lost++
			t.Errorf("acknowledged create of %s lost: %v", op.name, err)
		}
	}
	return acked, failed, lost
}

// TestEtcdLeaderKillLosesNoAcknowledgedWrite kill -9s the etcd leader
// while 8 SDK clients write through 2 replicas, then checks every
// acknowledged write through both replicas.
func TestEtcdLeaderKillLosesNoAcknowledgedWrite(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, _ := startReplica(t, c, "/killleader/")
	b, _ := startReplica(t, c, "/killleader/")
	ca, cb := newClient(a.Addr()), newClient(b.Addr())
	mustMesh(t, ca)
	var w writeLoad
	stop := make(chan struct{})
	wg := w.run(t, []*appmesh.Client{ca, cb}, 4, stop)
	time.Sleep(time.Second)
	leader := c.Leader(t)
	killedAt := time.Now()
	c.Kill(t, leader)
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	c.Restart(t, leader)
	waitReady(t, a)
	waitReady(t, b)
	outage := w.outage(killedAt)
	acked, failed, lost := w.verify(t, ca)
	_, _, lostB := w.verify(t, cb)
	t.Logf("kill -9 of the etcd leader under 8 writers on 2 replicas: %d creates acknowledged, %d failed, lost %d (via A) %d (via B); API unavailable %v",
		acked, failed, lost, lostB, outage.Round(time.Millisecond))
}

// TestReplicaCutOffFromEtcd freezes (SIGSTOP) the only etcd member a
// replica knows while writes continue through another replica: the
// cut-off replica turns unready, and after SIGCONT it serves the latest
// config to its proxy and turns ready again.
func TestReplicaCutOffFromEtcd(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, _ := startReplica(t, c, "/cutoff/")
	follower := (c.Leader(t) + 1) % 3
	cut := startReplicaOn(t, []string{c.Members()[follower].ClientURL}, "/cutoff/")
	ca := newClient(a.Addr())
	mustMesh(t, ca)
	if _, err := ca.CreateVirtualNode(t.Context(), &appmesh.CreateVirtualNodeInput{MeshName: aws.String(testMesh),
		VirtualNodeName: aws.String("front"), Spec: localNode(8000)}); err != nil {
		t.Fatalf("CreateVirtualNode: %v", err)
	}
	cfgs := adsWatch(t, cut.XDSAddr(), "mesh/"+testMesh+"/virtualNode/front")
	waitConfig(t, cfgs, "port_value:8000")

	c.Stop(t, follower)
	// A request that replica A's etcd client had sent to the frozen member
	// fails once keepalive gives up on it (its outcome is unknown to A, so
	// it is not retried silently); the caller retries with the same
	// clientToken, as the SDK's default retryer would.
	failed := 0
	for port := int32(8001); port <= 8005; port++ {
		var err error
		for range 5 {
			_, err = ca.UpdateVirtualNode(t.Context(), &appmesh.UpdateVirtualNodeInput{MeshName: aws.String(testMesh),
				VirtualNodeName: aws.String("front"), Spec: localNode(port), ClientToken: aws.String(fmt.Sprint("port-", port))})
			if err == nil {
				break
			}
			failed++
		}
		if err != nil {
			t.Fatalf("UpdateVirtualNode while a member is frozen, 5 attempts: %v", err)
		}
	}
	t.Logf("5 updates through replica A with a member frozen: %d attempts failed and were retried", failed)
	if code, body := readyz(t, cut); code != http.StatusServiceUnavailable {
		t.Fatalf("cut-off replica /readyz = %d %v, want 503", code, body)
	} else {
		t.Logf("cut-off replica /readyz: 503 %v", body["reason"])
	}
	resumed := time.Now()
	c.Cont(t, follower)
	waitConfig(t, cfgs, "port_value:8005")
	converged := time.Since(resumed)
	waitReady(t, cut)
	t.Logf("after SIGCONT the cut-off replica's proxy had the latest config in %v, ready in %v",
		converged.Round(time.Millisecond), time.Since(resumed).Round(time.Millisecond))
}

// startReplicaOn starts a replica that knows only the given endpoints.
func startReplicaOn(t *testing.T, endpoints []string, prefix string) *server.Server {
	t.Helper()
	cfg := config(t.TempDir())
	cfg.XDSAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Store = server.StoreConfig{Kind: server.StoreEtcd, EtcdEndpoints: endpoints, EtcdPrefix: prefix,
		ElectionTTL: 2 * time.Second}
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("server.Start (etcd): %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}
