package election

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

func TestLocalAlwaysLeads(t *testing.T) {
	if !(Local{}).IsLeader() {
		t.Fatal("Local is not the leader")
	}
}

// replica is one elector running until its stop is called.
type replica struct {
	e    *Etcd
	reg  *prometheus.Registry
	stop func()
}

func startReplicas(t *testing.T, c *etcdtest.Cluster, n int) []*replica {
	t.Helper()
	var out []*replica
	for i := range n {
		reg := prometheus.NewRegistry()
		cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		t.Cleanup(func() { _ = cli.Close() })
		e := NewEtcd(cli, Options{Key: "/test/election/", ID: fmt.Sprintf("r%d", i), TTL: 2 * time.Second, Registerer: reg})
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { _ = e.Run(ctx) })
		r := &replica{e: e, reg: reg, stop: sync.OnceFunc(func() { cancel(); wg.Wait() })}
		t.Cleanup(r.stop)
		out = append(out, r)
	}
	return out
}

// leaders waits until exactly one replica of rs leads, and returns it.
func oneLeader(t *testing.T, rs []*replica) *replica {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var leaders []*replica
		for _, r := range rs {
			if r.e.IsLeader() {
				leaders = append(leaders, r)
			}
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no single leader within 30s")
	return nil
}

// waitGauge waits for r's trellis_election_leader gauge to read want. The
// replica stores its leadership (IsLeader) before it sets the gauge, so a
// test that saw IsLeader change can read the gauge a moment early; 10 s
// only bounds a hang.
func waitGauge(t *testing.T, r *replica, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for got := testutil.ToFloat64(r.e.gauge); got != want; got = testutil.ToFloat64(r.e.gauge) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: leader gauge = %v, want %v", r.e.opts.ID, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFailover checks that exactly one of three replicas leads, that the
// leader's gauge says so, and that leadership moves when the leader stops
// and when the etcd leader is killed.
func TestFailover(t *testing.T) {
	c := etcdtest.Start(t, 3)
	rs := startReplicas(t, c, 3)
	first := oneLeader(t, rs)
	waitGauge(t, first, 1)
	start := time.Now()
	first.stop()
	var rest []*replica
	for _, r := range rs {
		if r != first {
			rest = append(rest, r)
		}
	}
	second := oneLeader(t, rest)
	t.Logf("leadership moved from %s to %s in %v after a graceful stop", first.e.opts.ID, second.e.opts.ID, time.Since(start))
	waitGauge(t, first, 0)
	c.Kill(t, c.Leader(t))
	third := oneLeader(t, rest)
	t.Logf("after kill -9 of the etcd leader, %s leads", third.e.opts.ID)

	// A leader that vanishes without resigning (its etcd connection gone,
	// as when its process is killed) loses leadership when its lease
	// expires, one TTL later.
	start = time.Now()
	_ = third.e.cli.Close()
	var last []*replica
	for _, r := range rest {
		if r != third {
			last = append(last, r)
		}
	}
	fourth := oneLeader(t, last)
	t.Logf("leadership moved from %s (connection cut) to %s in %v (lease TTL 2s)", third.e.opts.ID, fourth.e.opts.ID, time.Since(start))
}
