package xdsserver

import (
	"net/http"
	"slices"
	"sort"
	"time"
)

// Config states of a proxy, from the ACKs and NACKs of its stream.
const (
	// StateSynced: every type sent was ACKed at its desired version.
	StateSynced = "SYNCED"
	// StatePending: a type's desired version is not ACKed yet.
	StatePending = "PENDING"
	// StateNACKed: a type's last response was rejected and no later
	// version of it was ACKed since.
	StateNACKed = "NACKED"
)

// ProxyStatus is the config status of one connected proxy (one stream), a
// summary of NodeStatus for the CLI and the console (GET /v1/proxies).
type ProxyStatus struct {
	NodeID string `json:"nodeId"`
	Mesh   string `json:"mesh"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	// Connected is true for every listed proxy: only open streams are.
	Connected      bool      `json:"connected"`
	ConnectedSince time.Time `json:"connectedSince"`
	Stream         string    `json:"stream"`
	Peer           string    `json:"peer,omitempty"`
	// ConfigVersion is the version the proxy should run (its snapshot's).
	ConfigVersion string `json:"configVersion,omitempty"`
	// State is SYNCED, PENDING or NACKED.
	State string `json:"state"`
	// NACK is the latest rejection not yet superseded by an ACK.
	NACK *ProxyNACK `json:"nack,omitempty"`
}

// ProxyNACK is a rejected response: which type, which version, and Envoy's
// reason (error_detail).
type ProxyNACK struct {
	TypeURL string    `json:"typeUrl"`
	Version string    `json:"version"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// Proxies summarises Status per stream, sorted like Status.
func (s *Server) Proxies() []ProxyStatus {
	st := s.Status()
	out := make([]ProxyStatus, 0, len(st))
	for _, ns := range st {
		out = append(out, proxyOf(ns))
	}
	return out
}

func proxyOf(ns NodeStatus) ProxyStatus {
	p := ProxyStatus{NodeID: ns.NodeID, Connected: true, ConnectedSince: ns.ConnectedSince,
		Stream: ns.Stream, Peer: ns.Peer, ConfigVersion: ns.DesiredVersion, State: StateSynced}
	if ref, err := ParseNodeID(ns.NodeID); err == nil {
		p.Mesh, p.Kind, p.Name = ref.Mesh, ref.Kind, ref.Name
	}
	urls := make([]string, 0, len(ns.Types))
	for url := range ns.Types {
		urls = append(urls, url)
	}
	sort.Strings(urls)
	if len(urls) == 0 && ns.DesiredVersion != "" {
		p.State = StatePending
	}
	for _, url := range urls {
		ts := ns.Types[url]
		if n := ts.LastNACK; n != nil && !ts.AckedAt.After(n.At) {
			if p.NACK == nil || n.At.After(p.NACK.At) {
				p.NACK = &ProxyNACK{TypeURL: url, Version: n.Version, Message: n.Message, At: n.At}
			}
			p.State = StateNACKed
			continue
		}
		if ts.AckedVersion != ts.SentVersion || ts.DesiredVersion != "" && ts.AckedVersion != ts.DesiredVersion {
			if p.State == StateSynced {
				p.State = StatePending
			}
		}
	}
	return p
}

// ProxiesHandler serves Proxies as JSON on GET (/v1/proxies); ?mesh=
// keeps one mesh.
func (s *Server) ProxiesHandler() http.Handler {
	return jsonGET(func(r *http.Request) any {
		ps := s.Proxies()
		if mesh := r.URL.Query().Get("mesh"); mesh != "" {
			ps = slices.DeleteFunc(ps, func(p ProxyStatus) bool { return p.Mesh != mesh })
		}
		return map[string]any{"proxies": ps}
	})
}
