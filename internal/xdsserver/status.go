package xdsserver

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"time"
)

// NodeStatus is the state of one open, identified stream. Replicas of one
// virtual node share a node id, so a node id may appear once per Envoy.
type NodeStatus struct {
	NodeID string `json:"nodeId"`
	// Key is the snapshot the stream is served from (see NodeKey).
	Key string `json:"key"`
	// Stream is "sotw" or "delta".
	Stream         string    `json:"stream"`
	Peer           string    `json:"peer,omitempty"`
	ConnectedSince time.Time `json:"connectedSince"`
	// DesiredVersion is the version last passed to SetResources for the
	// node id, empty when it has no snapshot. Types keep older versions
	// while their content is unchanged (TypeStatus.DesiredVersion).
	DesiredVersion string `json:"desiredVersion,omitempty"`
	// Types is keyed by type URL and holds only types sent on the stream.
	Types map[string]TypeStatus `json:"types"`
}

// TypeStatus is what one stream was sent and answered for one type URL.
// The stream is up to date for the type when AckedVersion equals
// DesiredVersion.
type TypeStatus struct {
	// DesiredVersion is the type's version in the node's snapshot: the
	// version of the last SetResources that changed the type's content
	// (while a make-before-break plan runs, the published stage's: its
	// clusters and endpoints carry <version>+mbb).
	DesiredVersion string    `json:"desiredVersion,omitempty"`
	SentVersion    string    `json:"sentVersion"`
	SentAt         time.Time `json:"sentAt"`
	AckedVersion   string    `json:"ackedVersion,omitempty"`
	AckedAt        time.Time `json:"ackedAt,omitzero"`
	LastNACK       *NACK     `json:"lastNack,omitempty"`
}

// NACK is a rejected response: the version Envoy refused and its
// error_detail message. It stays until a later NACK replaces it, so an
// ACKed version newer than the NACK's means the problem was fixed.
type NACK struct {
	Version string    `json:"version"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// Status reports every identified stream, sorted by node id, connection
// time and peer address.
func (s *Server) Status() []NodeStatus {
	s.mu.Lock()
	out := make([]NodeStatus, 0, len(s.streams))
	for _, st := range s.streams {
		if st.nodeID != "" {
			out = append(out, s.statusOf(st))
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].NodeID != out[j].NodeID {
			return out[i].NodeID < out[j].NodeID
		}
		if !out[i].ConnectedSince.Equal(out[j].ConnectedSince) {
			return out[i].ConnectedSince.Before(out[j].ConnectedSince)
		}
		return out[i].Peer < out[j].Peer
	})
	return out
}

// statusOf copies a stream's state; callers hold s.mu.
func (s *Server) statusOf(st *streamState) NodeStatus {
	desired := s.cache.snapshot(st.nodeID)
	ns := NodeStatus{
		NodeID:         st.rawID,
		Key:            st.nodeID,
		Stream:         "sotw",
		Peer:           st.peer,
		ConnectedSince: st.since,
		Types:          make(map[string]TypeStatus, len(st.types)),
	}
	if desired != nil {
		ns.DesiredVersion = desired.version
	}
	if st.key.delta {
		ns.Stream = "delta"
	}
	for url, tr := range st.types {
		ts := tr.status
		ts.DesiredVersion = desired.typeVersion(url)
		if ts.LastNACK != nil {
			n := *ts.LastNACK
			ts.LastNACK = &n
		}
		ns.Types[url] = ts
	}
	return ns
}

// StatusHandler serves Status as JSON on GET (the API port's /debug/xds).
// ?node=<id> keeps only that node id's streams.
func (s *Server) StatusHandler() http.Handler {
	return jsonGET(func(r *http.Request) any {
		st := s.Status()
		if node := r.URL.Query().Get("node"); node != "" {
			st = slices.DeleteFunc(st, func(ns NodeStatus) bool { return ns.NodeID != node })
		}
		return st
	})
}

// jsonGET answers GET and HEAD with the indented JSON of what body
// returns for the request, uncached; other methods get 405.
func jsonGET(body func(*http.Request) any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		v := body(r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v) // the client is gone if this fails
	})
}
