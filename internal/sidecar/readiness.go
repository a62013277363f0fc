package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Health statuses reported by /status, as App Mesh's agent named them.
const (
	Healthy   = "HEALTHY"
	Unhealthy = "UNHEALTHY"
)

// envoyUnreachable is the envoyState reported when the admin API does not
// answer (Envoy starting, restarting or wedged).
const envoyUnreachable = "UNREACHABLE"

// Status is the agent's GET /status answer: a subset of App Mesh's agent
// fields, plus whether the sidecar is draining.
type Status struct {
	HealthStatus              string `json:"healthStatus"`
	EnvoyState                string `json:"envoyState"`
	EnvoyPid                  int    `json:"envoyPid"`
	EnvoyRestartCount         int    `json:"envoyRestartCount"`
	ManagementServerConnected bool   `json:"managementServerConnected"`
	Draining                  bool   `json:"draining"`
	// Identity is the SVID served to Envoy when the sidecar enrols.
	Identity *IdentityStatus `json:"identity,omitempty"`
}

// agent serves the sidecar's HTTP API. It asks Envoy on every request, so
// answers are never staler than one admin round trip.
type agent struct {
	admin    *adminClient
	sup      *supervisor
	log      *slog.Logger
	draining atomic.Bool
	// waitLogged: the not-ready reason was logged since Envoy was last LIVE.
	waitLogged atomic.Bool
	srv        *http.Server
	ln         net.Listener
	// identity, when set, reports the SVID in /status (workload.go).
	identity func() *IdentityStatus
}

// listenAgent binds addr now, so a port conflict fails Run before Envoy
// starts.
func listenAgent(addr string, admin *adminClient, sup *supervisor, log *slog.Logger) (*agent, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("agent listen: %w", err)
	}
	a := &agent{admin: admin, sup: sup, log: log, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", a.handleReady)
	mux.HandleFunc("GET /status", a.handleStatus)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return a, nil
}

// Addr is the bound address (useful with port 0).
func (a *agent) Addr() string { return a.ln.Addr().String() }

func (a *agent) serve() {
	a.log.Info("agent listening", "addr", a.Addr())
	if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Error("agent server", "err", err)
	}
}

func (a *agent) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		a.srv.Close()
	}
}

// ready reports whether traffic may be sent: not draining, and Envoy LIVE
// (it turns LIVE only after its initial configuration is applied).
func (a *agent) ready(ctx context.Context) (bool, string) {
	if a.draining.Load() {
		return false, "DRAINING"
	}
	state, err := a.admin.state(ctx)
	if err != nil {
		return false, envoyUnreachable
	}
	return state == stateLive, state
}

func (a *agent) handleReady(w http.ResponseWriter, r *http.Request) {
	ok, state := a.ready(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if ok {
		a.waitLogged.Store(false)
		io.WriteString(w, state+"\n")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	why := waitReason(state)
	if why != "" && !a.waitLogged.Swap(true) {
		a.log.Warn("not ready", "envoyState", state, "reason", why)
	}
	io.WriteString(w, state+"\n"+why)
}

// waitReason explains a not-ready state in /ready's body (after the state
// line, which stays first for probes that read it).
func waitReason(state string) string {
	switch state {
	case "PRE_INITIALIZING", "INITIALIZING":
		return "waiting for this node's listeners and clusters from the control plane; " +
			"the server sends none while the virtual node or gateway does not exist (check mesh and name)\n"
	case envoyUnreachable:
		return "Envoy's admin API does not answer (starting, restarting or stuck)\n"
	}
	return ""
}

func (a *agent) status(ctx context.Context) Status {
	s := Status{
		HealthStatus:      Unhealthy,
		EnvoyState:        envoyUnreachable,
		EnvoyPid:          a.sup.PID(),
		EnvoyRestartCount: a.sup.Restarts(),
		Draining:          a.draining.Load(),
	}
	if state, err := a.admin.state(ctx); err == nil {
		s.EnvoyState = state
	}
	if c, err := a.admin.connected(ctx); err == nil {
		s.ManagementServerConnected = c
	}
	if s.EnvoyState == stateLive && !s.Draining {
		s.HealthStatus = Healthy
	}
	if a.identity != nil {
		s.Identity = a.identity()
	}
	return s
}

func (a *agent) handleStatus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(a.status(r.Context())); err != nil {
		a.log.Debug("write /status", "err", err)
	}
}
