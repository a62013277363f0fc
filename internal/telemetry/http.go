package telemetry

import (
	"encoding/json"
	"net/http"
	"time"
)

// SignalsResponse is the body of GET /v1/telemetry/signals and
// /v1/telemetry/edges (docs/telemetry-api.md).
type SignalsResponse struct {
	// GeneratedAt is when the figures were computed.
	GeneratedAt time.Time `json:"generatedAt"`
	// WindowSeconds is the span the rates and quantiles cover.
	WindowSeconds float64 `json:"windowSeconds"`
	// Nodes (signals) or Edges (edges); the other is omitted.
	Nodes []NodeSignals `json:"nodes,omitzero"`
	Edges []EdgeSignals `json:"edges,omitzero"`
}

// NodeSignals are the inbound figures of one virtual node or gateway.
type NodeSignals struct {
	Mesh string `json:"mesh"`
	// Kind is virtualNode or virtualGateway.
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Proxies int    `json:"proxies"`
	Signals
}

// EdgeSignals are one caller's figures toward one callee virtual node,
// measured by the caller's proxies.
type EdgeSignals struct {
	Mesh       string `json:"mesh"`
	SourceKind string `json:"sourceKind"`
	Source     string `json:"source"`
	// Destination is the callee virtual node, or mesh-allow-all for
	// traffic leaving the mesh through ALLOW_ALL egress.
	Destination string `json:"destination"`
	Proxies     int    `json:"proxies"`
	Signals
}

// Handler serves GET /v1/telemetry/signals and /v1/telemetry/edges;
// ?mesh=<name> keeps one mesh. Mount it on both paths.
func (t *Telemetry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		edges := len(r.URL.Path) >= len("/edges") && r.URL.Path[len(r.URL.Path)-len("/edges"):] == "/edges"
		resp := t.response(r.URL.Query().Get("mesh"), edges)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(resp) // the client is gone if this fails
	})
}

func (t *Telemetry) response(mesh string, edges bool) SignalsResponse {
	resp := SignalsResponse{GeneratedAt: t.opts.Now().UTC(), WindowSeconds: t.Span().Seconds()}
	resp.Nodes, resp.Edges = []NodeSignals{}, []EdgeSignals{}
	for _, e := range t.Snapshot(mesh) {
		switch {
		case e.Dest == "" && !edges:
			resp.Nodes = append(resp.Nodes, NodeSignals{Mesh: e.Mesh, Kind: e.Kind, Name: e.Name, Proxies: e.Proxies, Signals: e.Signals})
		case e.Dest != "" && edges:
			resp.Edges = append(resp.Edges, EdgeSignals{Mesh: e.Mesh, SourceKind: e.Kind, Source: e.Name,
				Destination: e.Dest, Proxies: e.Proxies, Signals: e.Signals})
		}
	}
	if edges {
		resp.Nodes = nil
	} else {
		resp.Edges = nil
	}
	return resp
}
