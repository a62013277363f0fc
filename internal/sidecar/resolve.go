package sidecar

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

// resolver reads settings for Load: flag, then environment, then default.
// It collects every error and adjustment instead of stopping at the
// first, so a misconfigured task shows all its problems at once.
type resolver struct {
	src      Source
	errs     []error
	warnings []string
}

// flag returns a flag's value when the user gave a non-empty one; from
// is "--name".
func (r *resolver) flag(name string) (val, from string, ok bool) {
	if name == "" {
		return "", "", false
	}
	v, ok := r.src.Flags[name]
	if !ok || v == "" {
		return "", "", false
	}
	return v, "--" + name, true
}

// lookup returns the flag, else the first non-empty variable of envs
// (an empty variable counts as unset, like the image's ${VAR:-default}).
func (r *resolver) lookup(flag string, envs ...string) (val, from string, ok bool) {
	if v, from, ok := r.flag(flag); ok {
		return v, from, true
	}
	for _, name := range envs {
		if v, ok := r.src.Env(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), name, true
		}
	}
	return "", "", false
}

func (r *resolver) fail(from, val, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s=%q: %s", from, val, fmt.Sprintf(format, args...)))
}

func (r *resolver) port(flag string, def uint32, envs ...string) uint32 {
	v, from, ok := r.lookup(flag, envs...)
	if !ok {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n == 0 {
		r.fail(from, v, "not a port (1-65535)")
		return def
	}
	return uint32(n)
}

func (r *resolver) integer(flag string, def, lo, hi int, envs ...string) int {
	v, from, ok := r.lookup(flag, envs...)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(from, v, "want an integer in %d..%d", lo, hi)
		return def
	}
	return n
}

// seconds reads whole seconds ("20") or a Go duration ("1m30s").
func (r *resolver) seconds(flag string, def time.Duration, envs ...string) time.Duration {
	v, from, ok := r.lookup(flag, envs...)
	if !ok {
		return def
	}
	d, err := parseSeconds(v)
	if err != nil {
		r.fail(from, v, "%v", err)
		return def
	}
	return d
}

func parseSeconds(v string) (time.Duration, error) {
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want seconds (20) or a duration (20s)")
	}
	return d, nil
}

// drainTime is whole seconds (it becomes --drain-time-s) within App Mesh's
// 5..110 s; values outside are clamped with a warning, as a task
// definition that worked on App Mesh should not fail here.
func (r *resolver) drainTime() time.Duration {
	d := r.seconds("drain-time", DefaultDrainTime, "LISTENER_DRAIN_WAIT_TIME_S")
	d = time.Duration(math.Ceil(d.Seconds())) * time.Second
	clamped := min(max(d, MinDrainTime), MaxDrainTime)
	if clamped != d {
		r.warnings = append(r.warnings, fmt.Sprintf("drain time %v outside %v..%v, using %v", d, MinDrainTime, MaxDrainTime, clamped))
	}
	return clamped
}

func (r *resolver) boolean(flag string, envs ...string) bool {
	v, from, ok := r.lookup(flag, envs...)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(from, v, "not a boolean")
	}
	return b
}

// isFalse reports whether v parses as false; an unparsable value is taken
// as set.
func isFalse(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && !b
}

func (r *resolver) ip(flag, def string) string {
	v, from, ok := r.flag(flag)
	if !ok {
		return def
	}
	if _, err := netip.ParseAddr(v); err != nil {
		r.fail(from, v, "not an IP address")
		return def
	}
	return v
}

var envoyLevels = []string{"trace", "debug", "info", "warning", "warn", "error", "critical", "off"}

func (r *resolver) logLevel() string {
	v, from, ok := r.lookup("envoy-log-level", "ENVOY_LOG_LEVEL")
	if !ok {
		return DefaultLogLevel
	}
	v = strings.ToLower(v)
	if !slices.Contains(envoyLevels, v) {
		r.fail(from, v, "want one of %s", strings.Join(envoyLevels, ", "))
		return DefaultLogLevel
	}
	return v
}

func (r *resolver) interception() string {
	v, from, ok := r.flag("interception")
	if !ok {
		return InterceptionIPTables
	}
	if v != InterceptionIPTables && v != InterceptionNone {
		r.fail(from, v, "want iptables or none")
		return InterceptionIPTables
	}
	return v
}

// appPorts parses "9080:19080,9090" (a bare port maps to itself, the form
// of App Mesh's APPMESH_APP_PORTS).
func (r *resolver) appPorts() map[uint32]uint32 {
	v, from, ok := r.lookup("app-ports", "APPMESH_APP_PORTS")
	if !ok {
		return nil
	}
	out := map[uint32]uint32{}
	for _, pair := range strings.Split(v, ",") {
		a, b, isPair := strings.Cut(strings.TrimSpace(pair), ":")
		if !isPair {
			b = a
		}
		from16, errA := strconv.ParseUint(a, 10, 16)
		to16, errB := strconv.ParseUint(b, 10, 16)
		if errA != nil || errB != nil || from16 == 0 || to16 == 0 {
			r.fail(from, v, "%q is not listenerPort:appPort or port", pair)
			return nil
		}
		out[uint32(from16)] = uint32(to16)
	}
	return out
}

// xdsTarget reads host:port[,host:port...] or unix:///absolute/path
// (App Mesh's APPMESH_XDS_ENDPOINT forms, plus a list of replicas).
func (r *resolver) xdsTarget() XDSTarget {
	v, from, ok := r.lookup("xds-address", "TRELLIS_XDS_ADDRESS", "APPMESH_XDS_ENDPOINT")
	if !ok {
		v, from = DefaultXDSAddress, "default"
	}
	t, err := ParseXDSAddress(v)
	if err != nil {
		r.fail(from, v, "%v", err)
	}
	return t
}

// ParseXDSAddress parses host:port, a comma-separated list of host:port
// (replicas of one control plane), unix:///path or unix:/path.
func ParseXDSAddress(v string) (XDSTarget, error) {
	if rest, ok := strings.CutPrefix(v, "unix:"); ok {
		path := strings.TrimPrefix(rest, "//")
		if !filepath.IsAbs(path) || strings.Contains(path, ",") {
			return XDSTarget{}, fmt.Errorf("want unix:///absolute/path (one socket, no list)")
		}
		return XDSTarget{UnixSocket: path}, nil
	}
	var t XDSTarget
	for i, one := range strings.Split(v, ",") {
		hp, err := parseHostPort(strings.TrimSpace(one))
		if err != nil {
			return XDSTarget{}, err
		}
		if i == 0 {
			t.Host, t.Port = hp.Host, hp.Port
		} else {
			t.Replicas = append(t.Replicas, hp)
		}
	}
	return t, nil
}

func parseHostPort(v string) (bootstrap.HostPort, error) {
	if strings.Contains(v, "://") {
		return bootstrap.HostPort{}, fmt.Errorf("want host:port or unix:///path (no other scheme)")
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" || strings.Contains(host, "/") {
		return bootstrap.HostPort{}, fmt.Errorf("want host:port[,host:port...] or unix:///path")
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return bootstrap.HostPort{}, fmt.Errorf("port %q is not 1-65535", port)
	}
	return bootstrap.HostPort{Host: host, Port: uint32(p)}, nil
}

// String returns the address in the form ParseXDSAddress reads.
func (t XDSTarget) String() string {
	if t.UnixSocket != "" {
		return "unix://" + t.UnixSocket
	}
	out := net.JoinHostPort(t.Host, strconv.FormatUint(uint64(t.Port), 10))
	for _, r := range t.Replicas {
		out += "," + net.JoinHostPort(r.Host, strconv.FormatUint(uint64(r.Port), 10))
	}
	return out
}

// agentAddr reads --agent-addr (host:port), else App Mesh's
// APPNET_AGENT_HTTP_PORT on the default loopback host.
func (r *resolver) agentAddr() string {
	if v, from, ok := r.flag("agent-addr"); ok {
		if _, _, err := net.SplitHostPort(v); err != nil {
			r.fail(from, v, "want host:port")
			return DefaultAgentAddr
		}
		return v
	}
	host, _, _ := net.SplitHostPort(DefaultAgentAddr)
	if p := r.port("", 0, "APPNET_AGENT_HTTP_PORT"); p != 0 {
		return net.JoinHostPort(host, strconv.FormatUint(uint64(p), 10))
	}
	return DefaultAgentAddr
}

// registry reads the service-registration settings.
func (r *resolver) registry() RegistryOptions {
	o := RegistryOptions{HeartbeatInterval: r.seconds("heartbeat-interval", DefaultHeartbeatInterval, "TRELLIS_HEARTBEAT_INTERVAL")}
	if o.HeartbeatInterval <= 0 {
		r.errs = append(r.errs, fmt.Errorf("heartbeat interval must be positive"))
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if v, from, ok := r.lookup("api-endpoint", "TRELLIS_API_ENDPOINT"); ok {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail(from, v, "want an http:// or https:// URL")
		} else {
			o.APIEndpoint = v
		}
	}
	if v, from, ok := r.lookup("instance-ip", "TRELLIS_INSTANCE_IP"); ok {
		if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
			r.fail(from, v, "not an IPv4 address")
		} else {
			o.InstanceIP = v
		}
	}
	o.InstanceID, _, _ = r.lookup("instance-id", "TRELLIS_INSTANCE_ID")
	return o
}
