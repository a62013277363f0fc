package ir

import (
	"encoding/json"
	"fmt"
	"time"
)

// Proxy is the whole configuration of one Envoy.
type Proxy struct {
	// ID is the Envoy node id (mesh/<mesh>/virtualNode/<name>).
	ID           string        `json:"id"`
	Listeners    []Listener    `json:"listeners,omitempty"`
	RouteConfigs []RouteConfig `json:"routeConfigs,omitempty"`
	Clusters     []Cluster     `json:"clusters,omitempty"`
	// Warnings name App Mesh settings the translation could not honour
	// (for example a listener timeout Envoy cannot express); the proxy is configured without
	// them. xdsgen ignores them; they are for status and logs.
	Warnings []string `json:"warnings,omitempty"`
}

// Duration is a time.Duration that reads and writes as "15s" in goldens.
type Duration time.Duration

// D converts a time.Duration.
func D(d time.Duration) *Duration { x := Duration(d); return &x }

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Protocol is an application protocol on a listener or towards a cluster.
type Protocol string

// Protocols.
const (
	HTTP  Protocol = "http"
	HTTP2 Protocol = "http2"
	GRPC  Protocol = "grpc"
	TCP   Protocol = "tcp"
)

// IsHTTP reports whether the protocol is carried by an HTTP connection
// manager (http, http2, grpc).
func (p Protocol) IsHTTP() bool { return p == HTTP || p == HTTP2 || p == GRPC }

// AccessLog writes one line per request or connection to a file.
type AccessLog struct {
	Path string `json:"path"`
	// Text is an Envoy format string; JSON is an ordered list of key/format
	// pairs. Neither set means Envoy's default format.
	Text string     `json:"text,omitempty"`
	JSON []KeyValue `json:"json,omitempty"`
}

// KeyValue is one ordered pair.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
