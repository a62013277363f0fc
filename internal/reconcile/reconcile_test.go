package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/registry"
)

// TestStormEndsConfigured: a storm of connects and disconnects, changes
// duplicated, shuffled and wakeups dropped, ends with every open stream
// configured and every closed one's snapshot cleared. The keys share
// node ids (replicas with their own shape), so batches share translation.
func TestStormEndsConfigured(t *testing.T) {
	m := newTestMesh(t, 2, 20)
	xds := newFakeXDS()
	r := New(m.view, xds, Options{Logger: quietLogger()})
	runReconciler(t, r)
	const keys, ops = 200, 4000
	state := make([]bool, keys)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range ops {
		k := rng.IntN(keys)
		state[k] = !state[k]
		id := fmt.Sprintf("mesh/bench/virtualNode/client-%d", k%20)
		xds.set(fmt.Sprintf("%s#%d", id, k), id, state[k], i%3 == 0)
		if i%500 == 0 {
			time.Sleep(time.Millisecond) // let some batches run mid-storm
		}
	}
	eventually(t, "exactly the connected keys configured", xds.settled)
	eventually(t, "no proxy reported unconfigured", func() bool {
		xds.mu.Lock()
		defer xds.mu.Unlock()
		return xds.counts.Unconfigured == 0 && len(xds.changed) == 0
	})
	open := 0
	for _, c := range state {
		if c {
			open++
		}
	}
	if n := len(xds.ConnectedNodes()); n != open || open == 0 {
		t.Fatalf("%d connected, want %d (> 0)", n, open)
	}
}

// TestResyncFromConnectedNodes: when the change set overflowed (resync),
// every connected node is configured and every proxy that left is
// forgotten, though no key was listed.
func TestResyncFromConnectedNodes(t *testing.T) {
	m := newTestMesh(t, 2, 8)
	xds := newFakeXDS()
	r := New(m.view, xds, Options{Logger: quietLogger()})
	runReconciler(t, r)
	for i := range 5 {
		id := fmt.Sprintf("mesh/bench/virtualNode/client-%d", i)
		xds.set(id, id, true, false)
	}
	eventually(t, "first five configured", xds.settled)
	xds.mu.Lock()
	for i := range 3 { // two leave, three more come: all changes lost
		delete(xds.connected, fmt.Sprintf("mesh/bench/virtualNode/client-%d", i))
		id := fmt.Sprintf("mesh/bench/virtualNode/client-%d", 5+i)
		xds.connected[id] = stateOf(id)
	}
	xds.changed, xds.resync = nil, true
	xds.mu.Unlock()
	xds.wake <- struct{}{}
	eventually(t, "resynchronised", xds.settled)
}

// TestFailedPublishKeepsLastGoodConfig: a configuration the server
// refuses leaves the proxy on its last good one, and the next change
// publishes again.
func TestFailedPublishKeepsLastGoodConfig(t *testing.T) {
	m := newTestMesh(t, 2, 1)
	xds := newFakeXDS()
	r := New(m.view, xds, Options{Logger: quietLogger()})
	runReconciler(t, r)
	const id = "mesh/bench/virtualNode/client-0"
	xds.set(id, id, true, false)
	eventually(t, "configured", xds.settled)
	good, _ := xds.snap(id)

	xds.mu.Lock()
	xds.fail = errRefused
	xds.mu.Unlock()
	m.setWeights(t, 90, 10)
	eventually(t, "publication refused", func() bool { xds.mu.Lock(); defer xds.mu.Unlock(); return xds.refused > 0 })
	if s, _ := xds.snap(id); s.version != good.version {
		t.Fatalf("version %s after a refused publication, want the last good %s", s.version, good.version)
	}

	xds.mu.Lock()
	xds.fail = nil
	xds.mu.Unlock()
	m.setWeights(t, 20, 80)
	eventually(t, "republished", func() bool { s, _ := xds.snap(id); return s.version != good.version })
}

// TestRunReturnsStageError: a stage that dies (the registry's change
// feed) ends Run with its error, once Run's goroutines have returned.
func TestRunReturnsStageError(t *testing.T) {
	m := newTestMesh(t, 2, 1)
	feed := &dyingFeed{}
	r := New(m.view, newFakeXDS(), Options{Logger: quietLogger(), EndpointChanges: feed})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := r.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "registry changes") || !errors.Is(err, errFeedDied) {
		t.Fatalf("Run = %v, want the registry feed's error", err)
	}
	if n := feed.active.Load(); n != 0 {
		t.Fatalf("%d feed calls still running after Run returned", n)
	}
}

var errFeedDied = errors.New("feed died")

// dyingFeed fails its second call.
type dyingFeed struct {
	calls, active atomic.Int32
}

func (f *dyingFeed) Next(ctx context.Context) ([]registry.ServiceName, error) {
	f.active.Add(1)
	defer f.active.Add(-1)
	if f.calls.Add(1) > 1 {
		return nil, errFeedDied
	}
	return []registry.ServiceName{{Namespace: "ns", Service: "svc"}}, nil
}

// setWeights sets route 0's two weights.
func (m *testMesh) setWeights(t *testing.T, a, b int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	prefix := "/"
	_, err := m.mgr.Update(ctx, manager.UpdateInput{
		ID: appmesh.Identity{Kind: appmesh.KindRoute, Mesh: "bench", Parent: "router-0", Name: "route"},
		Spec: &appmesh.RouteSpec{HttpRoute: &appmesh.HttpRoute{
			Match: &appmesh.HttpRouteMatch{Prefix: &prefix},
			Action: &appmesh.HttpRouteAction{WeightedTargets: []appmesh.WeightedTarget{
				{VirtualNode: "svc-0", Weight: a}, {VirtualNode: "svc-1", Weight: b}}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
}
