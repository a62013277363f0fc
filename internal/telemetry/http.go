package telemetry

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// SignalsResponse is the body of GET /v1/telemetry/signals,
// /v1/telemetry/edges and /v1/telemetry/services (docs/telemetry-api.md).
type SignalsResponse struct {
	// GeneratedAt is when the figures were computed.
	GeneratedAt time.Time `json:"generatedAt"`
	// WindowSeconds is the span the rates and quantiles cover.
	WindowSeconds float64 `json:"windowSeconds"`
	// Nodes (signals), Edges (edges) or Services (services); the others
	// are omitted.
	Nodes    []NodeSignals    `json:"nodes,omitzero"`
	Edges    []EdgeSignals    `json:"edges,omitzero"`
	Services []ServiceSignals `json:"services,omitzero"`
}

// ServiceSignals are the figures of one virtual service as all its
// callers' proxies measured them at their egress (active connections are
// not counted per service and stay 0).
type ServiceSignals struct {
	Mesh    string `json:"mesh"`
	Service string `json:"service"`
	// Proxies is the number of connected caller proxies reporting.
	Proxies int `json:"proxies"`
	Signals
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

// view is which list a response holds.
type view int

const (
	viewNodes view = iota
	viewEdges
	viewServices
)

// viewOf picks the view from the request path's last element.
func viewOf(path string) view {
	switch {
	case strings.HasSuffix(path, "/edges"):
		return viewEdges
	case strings.HasSuffix(path, "/services"):
		return viewServices
	}
	return viewNodes
}

// Handler serves GET /v1/telemetry/signals, /v1/telemetry/edges and
// /v1/telemetry/services; ?mesh=<name> keeps one mesh. Mount it on all
// three paths.
func (t *Telemetry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		resp := t.response(r.URL.Query().Get("mesh"), viewOf(r.URL.Path))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(resp) // the client is gone if this fails
	})
}

func (t *Telemetry) response(mesh string, v view) SignalsResponse {
	resp := SignalsResponse{GeneratedAt: t.opts.Now().UTC(), WindowSeconds: t.Span().Seconds()}
	for _, e := range t.Snapshot(mesh) {
		switch {
		case e.Kind == serviceKind && v == viewServices:
			resp.Services = append(resp.Services, ServiceSignals{Mesh: e.Mesh, Service: e.Name, Proxies: e.Proxies, Signals: e.Signals})
		case e.Kind == serviceKind:
		case e.Dest == "" && v == viewNodes:
			resp.Nodes = append(resp.Nodes, NodeSignals{Mesh: e.Mesh, Kind: e.Kind, Name: e.Name, Proxies: e.Proxies, Signals: e.Signals})
		case e.Dest != "" && v == viewEdges:
			resp.Edges = append(resp.Edges, EdgeSignals{Mesh: e.Mesh, SourceKind: e.Kind, Source: e.Name,
				Destination: e.Dest, Proxies: e.Proxies, Signals: e.Signals})
		}
	}
	// The view's list is [] when empty, the others are omitted (nil).
	switch v {
	case viewNodes:
		resp.Nodes = nonNil(resp.Nodes)
	case viewEdges:
		resp.Edges = nonNil(resp.Edges)
	case viewServices:
		resp.Services = nonNil(resp.Services)
	}
	return resp
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
