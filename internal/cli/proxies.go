package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"
)

// proxyStatus mirrors one entry of GET /v1/proxies (docs/telemetry-api.md).
type proxyStatus struct {
	NodeID         string    `json:"nodeId"`
	Mesh           string    `json:"mesh"`
	Kind           string    `json:"kind"`
	Name           string    `json:"name"`
	Connected      bool      `json:"connected"`
	ConnectedSince time.Time `json:"connectedSince"`
	Stream         string    `json:"stream"`
	Peer           string    `json:"peer"`
	ConfigVersion  string    `json:"configVersion"`
	State          string    `json:"state"`
	NACK           *struct {
		TypeURL string `json:"typeUrl"`
		Version string `json:"version"`
		Message string `json:"message"`
	} `json:"nack"`
}

// isProxiesKind reports whether `trellis get` was asked for proxies.
func isProxiesKind(kind string) bool { return kind == "proxies" || kind == "proxy" }

// getProxies is `trellis get proxies [--mesh M] [-o table|json|yaml]`: the
// config status of every connected proxy.
func getProxies(ctx context.Context, cl *client, out io.Writer, mesh, output string) error {
	var q url.Values
	if mesh != "" {
		q = url.Values{"mesh": {mesh}}
	}
	var raw json.RawMessage
	if err := cl.do(ctx, http.MethodGet, "/v1/proxies", q, nil, &raw); err != nil {
		return fmt.Errorf("/v1/proxies: %w", err)
	}
	if output != "table" {
		return printDoc(out, raw, output)
	}
	var resp struct {
		Proxies []proxyStatus `json:"proxies"`
	}
	if err := jsonUnmarshal(raw, &resp); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MESH\tKIND\tNAME\tPEER\tSTREAM\tCONNECTED\tVERSION\tSTATE\tREASON")
	for _, p := range resp.Proxies {
		reason := ""
		if p.NACK != nil {
			reason = fmt.Sprintf("%s %s: %s", shortType(p.NACK.TypeURL), p.NACK.Version, p.NACK.Message)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Mesh, p.Kind, p.Name, p.Peer, p.Stream,
			p.ConnectedSince.Local().Format(time.DateTime), p.ConfigVersion, p.State, reason)
	}
	return tw.Flush()
}

// shortType is the last element of a type URL (Cluster, Listener, ...).
func shortType(url string) string {
	for i := len(url) - 1; i >= 0; i-- {
		if url[i] == '.' {
			return url[i+1:]
		}
	}
	return url
}
