package sidecar

import (
	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// src builds a Source from flag and environment maps.
func src(flags, env map[string]string) Source {
	return Source{Flags: flags, Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
}

const arn = "arn:aws:appmesh:us-west-2:123456789012:mesh/color/virtualNode/front"

func TestLoadIdentity(t *testing.T) {
	tests := []struct {
		name        string
		flags, env  map[string]string
		wantID      string
		wantCluster string
		wantKind    string
		wantMesh    string
	}{
		{"full ARN", nil, map[string]string{"APPMESH_RESOURCE_ARN": arn}, arn, arn, KindVirtualNode, "color"},
		{"short form", nil, map[string]string{"APPMESH_RESOURCE_ARN": "mesh/color/virtualGateway/gw"},
			"mesh/color/virtualGateway/gw", "mesh/color/virtualGateway/gw", KindVirtualGateway, "color"},
		{"shared mesh", nil, map[string]string{"APPMESH_RESOURCE_ARN": "mesh/color@210987654321/virtualNode/a"},
			"mesh/color@210987654321/virtualNode/a", "mesh/color@210987654321/virtualNode/a", KindVirtualNode, "color@210987654321"},
		{"legacy RESOURCE_NAME", nil, map[string]string{"APPMESH_RESOURCE_NAME": "mesh/m/virtualNode/r", "APPMESH_VIRTUAL_NODE_NAME": "mesh/m/virtualNode/v"},
			"mesh/m/virtualNode/r", "mesh/m/virtualNode/r", KindVirtualNode, "m"},
		{"legacy VIRTUAL_NODE_NAME", nil, map[string]string{"APPMESH_VIRTUAL_NODE_NAME": "mesh/m/virtualNode/v"},
			"mesh/m/virtualNode/v", "mesh/m/virtualNode/v", KindVirtualNode, "m"},
		{"ARN wins over legacy", nil, map[string]string{"APPMESH_RESOURCE_ARN": arn, "APPMESH_VIRTUAL_NODE_NAME": "mesh/m/virtualNode/v"},
			arn, arn, KindVirtualNode, "color"},
		{"empty ARN falls back", nil, map[string]string{"APPMESH_RESOURCE_ARN": "", "APPMESH_VIRTUAL_NODE_NAME": "mesh/m/virtualNode/v"},
			"mesh/m/virtualNode/v", "mesh/m/virtualNode/v", KindVirtualNode, "m"},
		{"cluster from env", nil, map[string]string{"APPMESH_RESOURCE_ARN": arn, "APPMESH_RESOURCE_CLUSTER": "front-v2", "APPMESH_VIRTUAL_NODE_CLUSTER": "old"},
			arn, "front-v2", KindVirtualNode, "color"},
		{"legacy cluster", nil, map[string]string{"APPMESH_RESOURCE_ARN": arn, "APPMESH_VIRTUAL_NODE_CLUSTER": "old"},
			arn, "old", KindVirtualNode, "color"},
		{"flags win over env", map[string]string{"mesh": "m", "virtual-node": "n", "node-cluster": "c"},
			map[string]string{"APPMESH_RESOURCE_ARN": arn, "APPMESH_RESOURCE_CLUSTER": "x"},
			"mesh/m/virtualNode/n", "c", KindVirtualNode, "m"},
		{"gateway flag", map[string]string{"mesh": "m", "virtual-gateway": "gw"}, nil,
			"mesh/m/virtualGateway/gw", "mesh/m/virtualGateway/gw", KindVirtualGateway, "m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(src(tc.flags, tc.env))
			if err != nil {
				t.Fatal(err)
			}
			id := c.Identity
			if id.NodeID != tc.wantID || id.Cluster != tc.wantCluster || id.Kind != tc.wantKind || id.Mesh != tc.wantMesh {
				t.Errorf("identity = %+v, want id %q cluster %q kind %q mesh %q", id, tc.wantID, tc.wantCluster, tc.wantKind, tc.wantMesh)
			}
		})
	}
}

func TestLoadXDS(t *testing.T) {
	id := map[string]string{"APPMESH_RESOURCE_ARN": arn}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"APPMESH_RESOURCE_ARN": arn}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name  string
		flags map[string]string
		env   map[string]string
		want  XDSTarget
	}{
		{"default", nil, id, XDSTarget{Host: "127.0.0.1", Port: 9081}},
		{"APPMESH_XDS_ENDPOINT host:port", nil, with("APPMESH_XDS_ENDPOINT", "trellis.mesh.svc:15010"), XDSTarget{Host: "trellis.mesh.svc", Port: 15010}},
		{"APPMESH_XDS_ENDPOINT unix", nil, with("APPMESH_XDS_ENDPOINT", "unix:///var/run/xds.sock"), XDSTarget{UnixSocket: "/var/run/xds.sock"}},
		{"unix: short form", nil, with("APPMESH_XDS_ENDPOINT", "unix:/run/x.sock"), XDSTarget{UnixSocket: "/run/x.sock"}},
		{"IPv6", nil, with("APPMESH_XDS_ENDPOINT", "[::1]:9081"), XDSTarget{Host: "::1", Port: 9081}},
		{"TRELLIS_XDS_ADDRESS wins over App Mesh", nil, with("APPMESH_XDS_ENDPOINT", "a:1", "TRELLIS_XDS_ADDRESS", "b:2"), XDSTarget{Host: "b", Port: 2}},
		{"flag wins over env", map[string]string{"xds-address": "c:3"}, with("TRELLIS_XDS_ADDRESS", "b:2"), XDSTarget{Host: "c", Port: 3}},
		{"replicas", map[string]string{"xds-address": "10.0.0.1:9081, 10.0.0.2:9081,[::1]:9082"}, id,
			XDSTarget{Host: "10.0.0.1", Port: 9081, Replicas: []bootstrap.HostPort{{Host: "10.0.0.2", Port: 9081}, {Host: "::1", Port: 9082}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(src(tc.flags, tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.XDS, tc.want) {
				t.Errorf("XDS = %+v, want %+v", c.XDS, tc.want)
			}
			if back, err := ParseXDSAddress(c.XDS.String()); err != nil || !reflect.DeepEqual(back, c.XDS) {
				t.Errorf("String() %q does not parse back: %+v %v", c.XDS.String(), back, err)
			}
		})
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(src(nil, map[string]string{"APPMESH_RESOURCE_ARN": arn}))
	if err != nil {
		t.Fatal(err)
	}
	want := EnvoyOptions{AdminAddress: "127.0.0.1", AdminPort: 9901, LogLevel: "info", DrainTime: 20 * time.Second, MaxRestarts: 3}
	if !reflect.DeepEqual(c.Envoy, want) {
		t.Errorf("Envoy = %+v, want %+v", c.Envoy, want)
	}
	wantProxy := ProxyShape{Interception: "iptables", IngressPort: 15000, EgressPort: 15001}
	if !reflect.DeepEqual(c.Proxy, wantProxy) {
		t.Errorf("Proxy = %+v, want %+v", c.Proxy, wantProxy)
	}
	if c.AgentAddr != DefaultAgentAddr || c.Delta || len(c.Ignored)+len(c.Warnings) != 0 {
		t.Errorf("agent %q delta %v ignored %v warnings %v", c.AgentAddr, c.Delta, c.Ignored, c.Warnings)
	}
}

func TestLoadAppMeshEnv(t *testing.T) {
	env := map[string]string{
		"APPMESH_RESOURCE_ARN":             arn,
		"ENVOY_ADMIN_ACCESS_PORT":          "9911",
		"ENVOY_LOG_LEVEL":                  "DEBUG",
		"ENVOY_CONCURRENCY":                "2",
		"LISTENER_DRAIN_WAIT_TIME_S":       "30",
		"ENVOY_INITIAL_FETCH_TIMEOUT":      "10",
		"APPNET_ENVOY_RESTART_COUNT":       "7",
		"APPMESH_ENVOY_INGRESS_PORT":       "16000",
		"APPMESH_ENVOY_EGRESS_PORT":        "16001",
		"APPMESH_APP_PORTS":                "9080, 9090",
		"APPMESH_SDS_SOCKET_PATH":          "/run/spire.sock",
		"APPNET_AGENT_HTTP_PORT":           "9912",
		"ENABLE_ENVOY_XRAY_TRACING":        "1",
		"ENABLE_ENVOY_DOG_STATSD":          "false",
		"ENVOY_ADMIN_MODE":                 "tcp",
		"ENVOY_RESOURCES_CONFIG_FILE":      "/etc/resources.yaml",
		"APPMESH_METRIC_EXTENSION_VERSION": "1",
	}
	c, err := Load(src(nil, env))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Envoy
	if e.AdminPort != 9911 || e.LogLevel != "debug" || e.Concurrency != 2 || e.DrainTime != 30*time.Second ||
		e.InitialFetchTimeout != 10*time.Second || e.MaxRestarts != 7 {
		t.Errorf("Envoy = %+v", e)
	}
	p := c.Proxy
	if p.IngressPort != 16000 || p.EgressPort != 16001 || !reflect.DeepEqual(p.AppPorts, map[uint32]uint32{9080: 9080, 9090: 9090}) {
		t.Errorf("Proxy = %+v", p)
	}
	if c.SDSSocketPath != "/run/spire.sock" || c.AgentAddr != "127.0.0.1:9912" {
		t.Errorf("sds %q agent %q", c.SDSSocketPath, c.AgentAddr)
	}
	if tr := c.Telemetry.Tracer; tr == nil || tr.Kind != "xray" || c.Telemetry.DogStatsD != nil {
		t.Errorf("Telemetry = %+v", c.Telemetry)
	}
	if want := []string{"APPMESH_METRIC_EXTENSION_VERSION", "ENVOY_RESOURCES_CONFIG_FILE"}; !slices.Equal(c.Ignored, want) {
		t.Errorf("Ignored = %v, want %v", c.Ignored, want)
	}
}

func TestLoadFlagsWin(t *testing.T) {
	flags := map[string]string{
		"admin-port": "9921", "envoy-log-level": "warn", "concurrency": "1", "drain-time": "7s",
		"max-restarts": "0", "ingress-port": "17000", "egress-port": "17001", "app-ports": "9080:19080",
		"interception": "none", "ingress-address": "127.0.0.5", "egress-address": "127.0.0.6",
		"app-address": "127.0.0.7", "agent-addr": "127.0.0.1:0", "delta": "true", "envoy-path": "/opt/envoy",
		"initial-fetch-timeout": "0",
	}
	env := map[string]string{
		"APPMESH_RESOURCE_ARN": arn, "ENVOY_ADMIN_ACCESS_PORT": "9911", "ENVOY_LOG_LEVEL": "debug",
		"ENVOY_CONCURRENCY": "4", "LISTENER_DRAIN_WAIT_TIME_S": "30", "APPNET_ENVOY_RESTART_COUNT": "5",
		"APPMESH_ENVOY_INGRESS_PORT": "16000", "APPMESH_ENVOY_EGRESS_PORT": "16001", "APPMESH_APP_PORTS": "1,2",
		"APPNET_AGENT_HTTP_PORT": "9912", "ENVOY_INITIAL_FETCH_TIMEOUT": "10",
	}
	c, err := Load(src(flags, env))
	if err != nil {
		t.Fatal(err)
	}
	wantEnvoy := EnvoyOptions{Path: "/opt/envoy", AdminAddress: "127.0.0.1", AdminPort: 9921, LogLevel: "warn",
		Concurrency: 1, DrainTime: 7 * time.Second, MaxRestarts: 0}
	if !reflect.DeepEqual(c.Envoy, wantEnvoy) {
		t.Errorf("Envoy = %+v, want %+v", c.Envoy, wantEnvoy)
	}
	wantProxy := ProxyShape{Interception: "none", IngressPort: 17000, EgressPort: 17001, IngressAddress: "127.0.0.5",
		EgressAddress: "127.0.0.6", AppAddress: "127.0.0.7", AppPorts: map[uint32]uint32{9080: 19080}}
	if !reflect.DeepEqual(c.Proxy, wantProxy) {
		t.Errorf("Proxy = %+v, want %+v", c.Proxy, wantProxy)
	}
	if c.AgentAddr != "127.0.0.1:0" || !c.Delta {
		t.Errorf("agent %q delta %v", c.AgentAddr, c.Delta)
	}
}

func TestLoadDrainClamp(t *testing.T) {
	for in, want := range map[string]time.Duration{"1": 5 * time.Second, "500": 110 * time.Second, "2.5s": 5 * time.Second, "5.2s": 6 * time.Second} {
		c, err := Load(src(map[string]string{"drain-time": in}, map[string]string{"APPMESH_RESOURCE_ARN": arn}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Envoy.DrainTime != want {
			t.Errorf("drain-time %s → %v, want %v", in, c.Envoy.DrainTime, want)
		}
		if (want != 6*time.Second) != (len(c.Warnings) == 1) {
			t.Errorf("drain-time %s: warnings %v", in, c.Warnings)
		}
	}
}

func TestLoadConfigFile(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.yaml")
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(full, []byte("admin: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantUse bool
	}{
		{"existing non-empty: used as is", full, true},
		{"empty: rendered into", empty, false},
		{"missing: rendered into", filepath.Join(dir, "new.yaml"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(src(nil, map[string]string{"APPMESH_RESOURCE_ARN": arn, "ENVOY_CONFIG_FILE": tc.path}))
			if err != nil {
				t.Fatal(err)
			}
			if c.Envoy.ConfigFile != tc.path || c.Envoy.UseConfigFile != tc.wantUse {
				t.Errorf("ConfigFile %q use %v, want %q %v", c.Envoy.ConfigFile, c.Envoy.UseConfigFile, tc.path, tc.wantUse)
			}
		})
	}
	_, err := Load(src(nil, map[string]string{"APPMESH_RESOURCE_ARN": arn, "ENVOY_CONFIG_FILE": dir}))
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory as ENVOY_CONFIG_FILE: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	id := map[string]string{"APPMESH_RESOURCE_ARN": arn}
	with := func(k, v string) map[string]string { return map[string]string{"APPMESH_RESOURCE_ARN": arn, k: v} }
	tests := []struct {
		name  string
		flags map[string]string
		env   map[string]string
		want  []string
	}{
		{"no identity", nil, nil, []string{"no identity", "APPMESH_RESOURCE_ARN"}},
		{"ARN too short", nil, map[string]string{"APPMESH_RESOURCE_ARN": "arn:aws:appmesh:us-west-2:1:mesh/m"}, []string{"APPMESH_RESOURCE_ARN", "want mesh/<mesh>"}},
		{"bad kind", nil, map[string]string{"APPMESH_RESOURCE_ARN": "mesh/m/virtualRouter/r"}, []string{`kind "virtualRouter"`}},
		{"no mesh segment", nil, map[string]string{"APPMESH_VIRTUAL_NODE_NAME": "foo/m/virtualNode/n"}, []string{"APPMESH_VIRTUAL_NODE_NAME", "no mesh/ segment"}},
		{"empty name", nil, map[string]string{"APPMESH_RESOURCE_ARN": "mesh/m/virtualNode/"}, []string{"empty name"}},
		{"node without mesh", map[string]string{"virtual-node": "n"}, nil, []string{"need --mesh"}},
		{"mesh without node", map[string]string{"mesh": "m"}, nil, []string{"--mesh needs --virtual-node"}},
		{"node and gateway", map[string]string{"mesh": "m", "virtual-node": "n", "virtual-gateway": "g"}, nil, []string{"exclusive"}},
		{"slash in name", map[string]string{"mesh": "m", "virtual-node": "a/b"}, nil, []string{"must not contain '/'"}},
		{"xds scheme", nil, with("APPMESH_XDS_ENDPOINT", "https://x:443"), []string{`APPMESH_XDS_ENDPOINT="https://x:443"`, "host:port or unix"}},
		{"xds relative unix", map[string]string{"xds-address": "unix://rel.sock"}, id, []string{"--xds-address", "absolute"}},
		{"xds scheme without port", nil, with("APPMESH_XDS_ENDPOINT", "https://x"), []string{"no other scheme"}},
		{"xds no port", nil, with("TRELLIS_XDS_ADDRESS", "trellis"), []string{"TRELLIS_XDS_ADDRESS"}},
		{"xds port range", nil, with("APPMESH_XDS_ENDPOINT", "x:70000"), []string{"not 1-65535"}},
		{"xds list with a bad member", nil, with("APPMESH_XDS_ENDPOINT", "a:1,b"), []string{"host:port[,host:port...]"}},
		{"xds list of sockets", nil, with("APPMESH_XDS_ENDPOINT", "unix:///a.sock,unix:///b.sock"), []string{"one socket, no list"}},
		{"admin port", nil, with("ENVOY_ADMIN_ACCESS_PORT", "99999"), []string{`ENVOY_ADMIN_ACCESS_PORT="99999": not a port`}},
		{"log level", nil, with("ENVOY_LOG_LEVEL", "loud"), []string{"ENVOY_LOG_LEVEL", "want one of"}},
		{"concurrency", nil, with("ENVOY_CONCURRENCY", "0"), []string{"ENVOY_CONCURRENCY", "1..1024"}},
		{"drain", nil, with("LISTENER_DRAIN_WAIT_TIME_S", "soon"), []string{"LISTENER_DRAIN_WAIT_TIME_S", "want seconds"}},
		{"restarts", nil, with("APPNET_ENVOY_RESTART_COUNT", "-1"), []string{"APPNET_ENVOY_RESTART_COUNT"}},
		{"interception", map[string]string{"interception": "ebpf"}, id, []string{"--interception", "iptables or none"}},
		{"app ports", map[string]string{"app-ports": "9080:x"}, id, []string{"--app-ports", `"9080:x"`}},
		{"address", map[string]string{"egress-address": "localhost"}, id, []string{"--egress-address", "not an IP"}},
		{"agent addr", map[string]string{"agent-addr": "9902"}, id, []string{"--agent-addr", "host:port"}},
		{"delta", nil, with("TRELLIS_XDS_DELTA", "maybe"), []string{"TRELLIS_XDS_DELTA", "boolean"}},
		{"same capture ports", map[string]string{"ingress-port": "15001"}, id, []string{"both 15001"}},
		{"all reported", map[string]string{"interception": "x"}, with("ENVOY_LOG_LEVEL", "y"), []string{"--interception", "ENVOY_LOG_LEVEL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(src(tc.flags, tc.env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseResource(t *testing.T) {
	id, err := ParseResource("arn:aws:appmesh-preview:us-west-2:1:mesh/m/virtualGateway/g")
	if err != nil || id.Mesh != "m" || id.Kind != KindVirtualGateway || id.Name != "g" || !id.IsGateway() {
		t.Errorf("preview ARN: %+v %v", id, err)
	}
	if _, err := ParseResource("mesh/m/virtualNode/has space"); err == nil {
		t.Error("blank in name accepted")
	}
}
