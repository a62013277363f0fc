package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/trellis-mesh/trellis/internal/election"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/store"
)

// readyTimeout bounds one /readyz probe: the store read and the wait for
// the view to catch up.
const readyTimeout = 3 * time.Second

// readiness answers /readyz: the store answers a linearizable read, no
// background stage (watch, translator, registry) has died, and the view
// has applied every change the store holds under the App Mesh prefix.
// /healthz (the apiserver's) stays pure liveness.
type readiness struct {
	st   store.Store
	view *meshview.View // nil when xDS is disabled
	el   election.Elector

	mu   sync.Mutex
	dead []string // background stages that stopped before shutdown
}

// stageDied records a background stage that ended while serving.
func (r *readiness) stageDied(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dead = append(r.dead, name)
}

// readyReport is the JSON body of /readyz.
type readyReport struct {
	Ready    bool   `json:"ready"`
	Reason   string `json:"reason,omitempty"`
	Revision int64  `json:"viewRevision,omitempty"`
	Leader   bool   `json:"leader"`
}

func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), readyTimeout)
	defer cancel()
	rep := readyReport{Leader: r.el != nil && r.el.IsLeader()}
	rev, err := r.check(ctx)
	rep.Revision = rev
	status := http.StatusOK
	if err != nil {
		status, rep.Reason = http.StatusServiceUnavailable, err.Error()
	} else {
		rep.Ready = true
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(rep)
}

// check returns nil when ready, with the view's revision.
func (r *readiness) check(ctx context.Context) (int64, error) {
	r.mu.Lock()
	dead := r.dead
	r.mu.Unlock()
	if len(dead) > 0 {
		return 0, fmt.Errorf("stopped: %v", dead)
	}
	if r.view == nil {
		if _, err := r.st.Revision(ctx); err != nil {
			return 0, fmt.Errorf("store unreachable: %w", err)
		}
		return 0, nil
	}
	for {
		snap := r.view.Current()
		if snap == nil {
			if err := wait(ctx); err != nil {
				return 0, errors.New("view not loaded yet")
			}
			continue
		}
		// Caught up means: nothing under the prefix was written after the
		// view's revision. A compare-only Txn asks exactly that, with a
		// linearizable read, and writes nothing.
		_, err := r.st.Txn(ctx, []store.Compare{store.PrefixUnchangedSince(manager.KeyPrefix, snap.Revision)}, nil)
		switch {
		case err == nil:
			return snap.Revision, nil
		case !errors.Is(err, store.ErrConflict):
			return snap.Revision, fmt.Errorf("store unreachable: %w", err)
		}
		if wait(ctx) != nil {
			return snap.Revision, fmt.Errorf("watch behind the store: view at revision %d", snap.Revision)
		}
	}
}

// wait pauses briefly before the next look, or fails when ctx ends.
func wait(ctx context.Context) error {
	select {
	case <-time.After(20 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withReadyz answers GET /readyz before next (and its authentication):
// load balancers and Kubernetes probe it without credentials, like
// /healthz.
func (s *Server) withReadyz(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/readyz" {
			s.ready.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
