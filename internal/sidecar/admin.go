package sidecar

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// adminTimeout bounds one admin API call; Envoy answers in milliseconds
// unless it is wedged, and probes must not hang on a wedged Envoy.
const adminTimeout = time.Second

// stateLive is what Envoy's /ready says once its initial configuration is
// applied.
const stateLive = "LIVE"

// adminClient calls Envoy's admin API.
type adminClient struct {
	base string
	http *http.Client
}

func newAdminClient(base string) *adminClient {
	return &adminClient{base: base, http: &http.Client{
		Timeout:   adminTimeout,
		Transport: &http.Transport{MaxIdleConns: 2, IdleConnTimeout: 30 * time.Second},
	}}
}

func (a *adminClient) do(ctx context.Context, method, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, nil)
	if err != nil {
		return 0, "", fmt.Errorf("envoy admin %s: %w", path, err)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("envoy admin %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, "", fmt.Errorf("envoy admin %s: %w", path, err)
	}
	return resp.StatusCode, string(body), nil
}

// state returns Envoy's server state (LIVE, PRE_INITIALIZING,
// INITIALIZING, DRAINING). /ready answers 200 only for LIVE.
func (a *adminClient) state(ctx context.Context) (string, error) {
	_, body, err := a.do(ctx, http.MethodGet, "/ready")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(body), nil
}

// stats returns the counters and gauges whose names match the RE2 regex
// filter (histograms are skipped).
func (a *adminClient) stats(ctx context.Context, filter string) (map[string]int64, error) {
	code, body, err := a.do(ctx, http.MethodGet, "/stats?filter="+url.QueryEscape(filter))
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("envoy admin /stats: status %d: %s", code, strings.TrimSpace(body))
	}
	return parseStats(body), nil
}

// parseStats reads the text format, one "name: value" per line.
func parseStats(body string) map[string]int64 {
	out := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[name] = n
		}
	}
	return out
}

// connected reports control_plane.connected_state (1 while the ADS stream
// is up).
func (a *adminClient) connected(ctx context.Context) (bool, error) {
	st, err := a.stats(ctx, `^control_plane\.connected_state$`)
	if err != nil {
		return false, err
	}
	return st["control_plane.connected_state"] == 1, nil
}

// activity counts downstream connections and requests still open on
// Envoy's listeners; the admin listener's own (this very request) is not
// counted.
type activity struct {
	Connections int64
	Requests    int64
}

func (a *adminClient) activity(ctx context.Context) (activity, error) {
	st, err := a.stats(ctx, `^(listener\..*\.downstream_cx_active|http\..*\.downstream_rq_active)$`)
	if err != nil {
		return activity{}, err
	}
	var act activity
	for name, v := range st {
		switch {
		case strings.HasPrefix(name, "listener.admin.") || strings.HasPrefix(name, "http.admin."):
		case strings.HasPrefix(name, "listener.") && strings.Contains(name, ".worker_"):
			// per-worker copies of the listener totals
		case strings.HasPrefix(name, "listener."):
			act.Connections += v
		default:
			act.Requests += v
		}
	}
	return act, nil
}

// drainListeners starts Envoy's graceful drain: HTTP connection managers
// discourage reuse (Connection: close, HTTP/2 GOAWAY) and listeners close
// after --drain-time-s.
func (a *adminClient) drainListeners(ctx context.Context) error {
	code, body, err := a.do(ctx, http.MethodPost, "/drain_listeners?graceful")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("envoy admin /drain_listeners: status %d: %s", code, strings.TrimSpace(body))
	}
	return nil
}
