package reconcile

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// wait bounds every blocking step of a test; nothing is timed against it.
const wait = 30 * time.Second

// fakeXDS stands in for the xDS server. Its change list is hostile:
// keys come back duplicated and shuffled, and wakeups beyond the one
// pending are dropped, as the XDS contract allows.
type fakeXDS struct {
	mu        sync.Mutex
	wake      chan struct{}
	connected map[string]xdsserver.NodeState
	changed   []string
	resync    bool
	snaps     map[string]fakeSnap
	// fail, when set, refuses SetResources with its error.
	fail    error
	refused int
	rng     *rand.Rand
	counts  xdsserver.ProxyCounts // as last reported
}

// fakeSnap is what SetResources last accepted for a key.
type fakeSnap struct {
	version   string
	resources map[string][]types.Resource
}

func newFakeXDS() *fakeXDS {
	return &fakeXDS{wake: make(chan struct{}, 1), connected: map[string]xdsserver.NodeState{},
		snaps: map[string]fakeSnap{}, rng: rand.New(rand.NewPCG(1, 2))}
}

// set connects or disconnects key (node id id) and marks it changed,
// twice when dup.
func (f *fakeXDS) set(key, id string, connected, dup bool) {
	f.mu.Lock()
	if connected {
		f.connected[key] = xdsserver.NodeState{NodeID: id, Key: key, Connected: true}
	} else {
		delete(f.connected, key)
	}
	f.changed = append(f.changed, key)
	if dup {
		f.changed = append(f.changed, key)
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fakeXDS) NodeChanges() <-chan struct{} { return f.wake }

func (f *fakeXDS) TakeNodeChanges() ([]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := f.changed
	f.changed = nil
	f.rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	resync := f.resync
	f.resync = false
	return keys, resync
}

func (f *fakeXDS) Node(key string) xdsserver.NodeState {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st, ok := f.connected[key]; ok {
		return st
	}
	return xdsserver.NodeState{Key: key}
}

func (f *fakeXDS) ConnectedNodes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return keysOf(f.connected)
}

func (f *fakeXDS) SetResources(key, version string, res map[string][]types.Resource) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		f.refused++
		return f.fail
	}
	f.snaps[key] = fakeSnap{version: version, resources: res}
	return nil
}

func (f *fakeXDS) ClearNode(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.connected[key]; !ok {
		delete(f.snaps, key)
	}
}

func (f *fakeXDS) ObserveRebuild(string, int, time.Duration) {}
func (f *fakeXDS) SetProxyCounts(c xdsserver.ProxyCounts) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts = c
}
func (f *fakeXDS) ObserveCache(string, func() int) {}

// settled reports whether exactly the connected keys have a snapshot.
func (f *fakeXDS) settled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.snaps) != len(f.connected) {
		return false
	}
	for k := range f.connected {
		if _, ok := f.snaps[k]; !ok {
			return false
		}
	}
	return true
}

func (f *fakeXDS) snap(key string) (fakeSnap, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.snaps[key]
	return s, ok
}

func keysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	return keys
}

// runReconciler runs r until the test ends and checks that Run returns
// nil then, and only after its goroutines.
func runReconciler(t *testing.T, r *Reconciler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v after cancel, want nil", err)
			}
		case <-time.After(wait):
			t.Error("Run did not return after cancel")
		}
	})
}

// eventually polls cond until it holds or wait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// quietLogger discards logs.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var errRefused = errors.New("refused by the test")

// stateOf is a connected node whose key is its id.
func stateOf(id string) xdsserver.NodeState {
	return xdsserver.NodeState{NodeID: id, Key: id, Connected: true}
}
