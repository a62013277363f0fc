package bootstrap

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/trellis-mesh/trellis/internal/freeport"
	"github.com/trellis-mesh/trellis/internal/xdsgen/internal/envoytest"
)

// telemetryNode is the proxy every telemetry test renders for.
const telemetryNode = "mesh/demo/virtualNode/front"

// runEnvoy renders cfg, adds a static listener whose HTTP manager has the
// empty tracing block the control plane sends (answering 200 itself),
// starts Envoy and returns the listener's and admin's base URLs. The xDS
// server is absent: the first fetch times out quickly and Envoy serves
// its static configuration.
func runEnvoy(t *testing.T, cfg Config) (app, admin string) {
	t.Helper()
	return runEnvoyWith(t, cfg, nil)
}

// runEnvoyWith is runEnvoy with fragments merged into the bootstrap.
func runEnvoyWith(t *testing.T, cfg Config, frags []Fragment) (app, admin string) {
	t.Helper()
	bin := envoytest.Binary(t)
	cfg.NodeID = telemetryNode
	cfg.XDSHost, cfg.XDSPort = "127.0.0.1", freePort(t)
	cfg.AdminAddress, cfg.AdminPort = "127.0.0.1", freePort(t)
	b, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) > 0 {
		if b, _, err = Merge(b, frags); err != nil {
			t.Fatal(err)
		}
	}
	appPort := freePort(t)
	if err := addTestListener(b, appPort, cfg.statPrefix()); err != nil {
		t.Fatal(err)
	}
	y, err := Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "envoy.yaml")
	if err := os.WriteFile(path, y, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-c", path, "--disable-hot-restart", "-l", "warn", "--concurrency", "1")
	log, err := os.Create(filepath.Join(dir, "envoy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("envoy log:\n%s\nbootstrap:\n%s", out, y)
		}
	})
	app = fmt.Sprintf("http://127.0.0.1:%d", appPort)
	admin = fmt.Sprintf("http://127.0.0.1:%d", cfg.AdminPort)
	waitOK(t, app+"/ready")
	return app, admin
}

// statPrefix is the test listener's stat prefix: "ingress", or the
// multi-listener form ingress.http.8080 when the config carries
// ListenerTags.
func (c Config) statPrefix() string {
	for _, tag := range c.Telemetry.StatsTags {
		if tag.Name == ListenerTags[0].Name {
			return "ingress.http.8080"
		}
	}
	return "ingress"
}

// addTestListener adds the static listener and makes the first xDS fetch
// give up after 100 ms; it also flushes tracer batches after one span.
func addTestListener(b *bootstrapv3.Bootstrap, port uint32, statPrefix string) error {
	b.DynamicResources.LdsConfig.InitialFetchTimeout = durationpb.New(100 * time.Millisecond)
	b.DynamicResources.CdsConfig.InitialFetchTimeout = durationpb.New(100 * time.Millisecond)
	static := b.LayeredRuntime.Layers[0].GetStaticLayer()
	for _, k := range []string{"tracing.zipkin.min_flush_spans", "tracing.opentelemetry.min_flush_spans"} {
		static.Fields[k] = structpb.NewNumberValue(1)
	}
	router, err := anypb.New(&routerv3.Router{})
	if err != nil {
		return err
	}
	hcm, err := anypb.New(&hcmv3.HttpConnectionManager{
		StatPrefix: statPrefix,
		Tracing:    &hcmv3.HttpConnectionManager_Tracing{},
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
			Name: "rds_ingress_http_test",
			VirtualHosts: []*routev3.VirtualHost{{Name: "app", Domains: []string{"*"}, Routes: []*routev3.Route{{
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 200}},
			}}}},
		}},
		HttpFilters: []*hcmv3.HttpFilter{{Name: "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router}}},
	})
	if err != nil {
		return err
	}
	b.StaticResources.Listeners = append(b.StaticResources.Listeners, &listenerv3.Listener{
		Name:    "lds_ingress_test",
		Address: socketAddress("127.0.0.1", port),
		FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name: "envoy.filters.network.http_connection_manager", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcm},
		}}}},
	})
	return b.ValidateAll()
}

// freePort returns a loopback port that Envoy or the test binds later,
// picked by freeport below the kernel's ephemeral range.
func freePort(t *testing.T) uint32 {
	t.Helper()
	port, err := freeport.Port("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return uint32(port)
}

// waitOK polls url until it answers 200 (Envoy starting), for at most 30 s.
func waitOK(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 200: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sendRequests sends n requests through the listener.
func sendRequests(t *testing.T, app string, n int) {
	t.Helper()
	for i := range n {
		resp, err := http.Get(fmt.Sprintf("%s/orders/%d", app, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// receiveTimeout bounds the wait for telemetry: flushes happen every
// second here (stats) or per span (tracers).
const receiveTimeout = 30 * time.Second

func receiveCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), receiveTimeout)
	t.Cleanup(cancel)
	return ctx
}

var appMeshTags = []StatsTag{{Name: "appmesh.mesh", Value: "demo"}, {Name: "appmesh.virtual_node", Value: "front"}}

// TestEnvoyDogStatsDTags: ENABLE_ENVOY_STATS_TAGS + ENABLE_ENVOY_DOG_STATSD
// → a DogStatsD UDP listener gets Envoy's metrics tagged with the mesh and
// virtual node, and /stats/prometheus carries the same labels.
func TestEnvoyDogStatsDTags(t *testing.T) {
	rec, port := udpReceiver(t)
	app, admin := runEnvoy(t, Config{Telemetry: Telemetry{
		StatsTags:     appMeshTags,
		FlushInterval: time.Second,
		DogStatsD:     &DogStatsD{Host: "127.0.0.1", Port: port},
	}})
	sendRequests(t, app, 3)
	line := rec.wait(receiveCtx(t), t, "tagged envoy.http.downstream_rq_total", func(m string) bool {
		for _, l := range strings.Split(m, "\n") {
			if strings.HasPrefix(l, "envoy.http.downstream_rq_total:") &&
				strings.Contains(l, "appmesh.mesh:demo") && strings.Contains(l, "appmesh.virtual_node:front") {
				return true
			}
		}
		return false
	})
	t.Logf("dogstatsd datagram: %.300s", line)
	prom := getBody(t, admin+"/stats/prometheus")
	found := false
	for _, l := range strings.Split(prom, "\n") {
		if strings.HasPrefix(l, "envoy_http_downstream_rq_total{") &&
			strings.Contains(l, `appmesh_mesh="demo"`) && strings.Contains(l, `appmesh_virtual_node="front"`) {
			found = true
			t.Logf("prometheus: %s", l)
		}
	}
	if !found {
		t.Errorf("/stats/prometheus has no envoy_http_downstream_rq_total with the appmesh labels")
	}
}

// TestEnvoyZipkinSpans: ENABLE_ENVOY_JAEGER_TRACING (JSON) → a Zipkin v2
// HTTP receiver gets spans whose local service is the node cluster, as
// App Mesh named them; the PROTO default posts protobuf.
func TestEnvoyZipkinSpans(t *testing.T) {
	for _, json := range []bool{true, false} {
		t.Run(fmt.Sprintf("json=%v", json), func(t *testing.T) {
			rec, port := zipkinReceiver(t)
			app, _ := runEnvoy(t, Config{Telemetry: Telemetry{
				Tracer: &Tracer{Kind: TracerZipkin, Host: "127.0.0.1", Port: port, ZipkinJSON: json},
			}})
			sendRequests(t, app, 3)
			if !json {
				rec.wait(receiveCtx(t), t, "protobuf spans", func(m string) bool {
					return m == "content-type: application/x-protobuf"
				})
				return
			}
			body := rec.wait(receiveCtx(t), t, "span of the node", func(m string) bool {
				return jsonHas(m, map[string]string{"serviceName": telemetryNode}) && jsonHas(m, map[string]string{"kind": "SERVER"})
			})
			t.Logf("zipkin body: %.400s", body)
		})
	}
}

// TestEnvoyXRaySegments: ENABLE_ENVOY_XRAY_TRACING → a UDP listener in the
// X-Ray daemon format gets segments named <mesh>/<node> with App Mesh's
// origin.
func TestEnvoyXRaySegments(t *testing.T) {
	const rules = `{"version":2,"default":{"fixed_target":1,"rate":1.0},"rules":[]}`
	manifest := filepath.Join(t.TempDir(), "sampling-rules.json")
	if err := os.WriteFile(manifest, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, x := range map[string]XRaySettings{
		"inline rules (XRAY_SAMPLING_RATE)":           {SamplingRules: rules},
		"rule manifest (XRAY_SAMPLING_RULE_MANIFEST)": {SamplingRuleManifest: manifest},
	} {
		t.Run(name, func(t *testing.T) {
			rec, port := udpReceiver(t)
			x.Mesh, x.Node = "demo", "front"
			app, _ := runEnvoy(t, Config{Telemetry: Telemetry{
				Tracer: &Tracer{Kind: TracerXRay, Host: "127.0.0.1", Port: port, ServiceName: "demo/front", XRay: x},
			}})
			sendRequests(t, app, 3)
			seg := rec.wait(receiveCtx(t), t, "segment demo/front", func(m string) bool {
				return strings.HasPrefix(m, `{"format":"json","version":1}`+"\n") &&
					jsonHas(m, map[string]string{"name": "demo/front", "origin": XRayOrigin}) &&
					jsonHas(m, map[string]string{"mesh_name": "demo", "virtual_node_name": "front"})
			})
			t.Logf("x-ray datagram: %.400s", seg)
		})
	}
}

// TestEnvoyOTLPSpans: ENABLE_ENVOY_OTEL_TRACING → an OTLP gRPC receiver
// gets spans of service <mesh>/<node>.
func TestEnvoyOTLPSpans(t *testing.T) {
	rec, port := otlpReceiver(t)
	app, _ := runEnvoy(t, Config{Telemetry: Telemetry{
		Tracer: &Tracer{Kind: TracerOpenTelemetry, Host: "127.0.0.1", Port: port, ServiceName: "demo/front"},
	}})
	sendRequests(t, app, 3)
	span := rec.wait(receiveCtx(t), t, "OTLP span of demo/front", func(m string) bool {
		return strings.HasPrefix(m, "service=demo/front span=")
	})
	t.Logf("otlp: %s", span)
}

// TestEnvoyDatadogTraces: ENABLE_ENVOY_DATADOG_TRACING → an HTTP receiver
// of the Datadog agent's trace API gets msgpack traces carrying the
// service name envoy-<mesh>/<node>.
func TestEnvoyDatadogTraces(t *testing.T) {
	rec := newRecorder()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.add(r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type") + " " + string(body))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"rate_by_service":{}}`)
	})
	port := serveHTTP(t, mux)
	app, _ := runEnvoy(t, Config{Telemetry: Telemetry{
		Tracer: &Tracer{Kind: TracerDatadog, Host: "127.0.0.1", Port: port, ServiceName: "envoy-demo/front"},
	}})
	sendRequests(t, app, 3)
	got := rec.wait(receiveCtx(t), t, "trace of envoy-demo/front", func(m string) bool {
		return strings.Contains(m, "/traces ") && strings.Contains(m, "msgpack") && strings.Contains(m, "envoy-demo/front")
	})
	t.Logf("datadog: %.80q", got)
}

// TestEnvoyDogStatsDUnixSocket: STATSD_SOCKET_PATH → datagrams on a Unix
// socket.
func TestEnvoyDogStatsDUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dsd.socket")
	rec, _ := packetReceiver(t, "unixgram", path)
	app, _ := runEnvoy(t, Config{Telemetry: Telemetry{
		StatsTags: appMeshTags, FlushInterval: time.Second, DogStatsD: &DogStatsD{SocketPath: path},
	}})
	sendRequests(t, app, 1)
	rec.wait(receiveCtx(t), t, "tagged datagram on the socket", func(m string) bool {
		return strings.Contains(m, "|#appmesh.mesh:demo,appmesh.virtual_node:front")
	})
}

// TestEnvoyFragments: each fragment file variable, merged into the
// bootstrap, reaches its receiver: ENVOY_TRACING_CFG_FILE (the user's
// Zipkin tracer and cluster), ENVOY_STATS_SINKS_CFG_FILE (a statsd sink),
// ENVOY_STATS_CONFIG_FILE (a fixed tag on /stats/prometheus).
func TestEnvoyFragments(t *testing.T) {
	t.Run("ENVOY_TRACING_CFG_FILE", func(t *testing.T) {
		rec, port := zipkinReceiver(t)
		frag := strings.NewReplacer("address: zipkin, port_value: 9411", fmt.Sprintf("address: 127.0.0.1, port_value: %d", port),
			"STRICT_DNS", "STATIC").Replace(zipkinFragment)
		app, _ := runEnvoyWith(t, Config{}, []Fragment{{Name: "ENVOY_TRACING_CFG_FILE", Data: []byte(frag)}})
		sendRequests(t, app, 3)
		rec.wait(receiveCtx(t), t, "span from the user's tracer", func(m string) bool {
			return jsonHas(m, map[string]string{"serviceName": telemetryNode})
		})
	})
	t.Run("ENVOY_STATS_SINKS_CFG_FILE", func(t *testing.T) {
		rec, port := udpReceiver(t)
		frag := strings.Replace(sinksFragment, "port_value: 8125", fmt.Sprintf("port_value: %d", port), 1)
		app, _ := runEnvoyWith(t, Config{Telemetry: Telemetry{FlushInterval: time.Second}},
			[]Fragment{{Name: "ENVOY_STATS_SINKS_CFG_FILE", Data: []byte(frag), NeedSinks: true}})
		sendRequests(t, app, 1)
		rec.wait(receiveCtx(t), t, "statsd counter", func(m string) bool {
			return strings.Contains(m, "envoy.http.ingress.downstream_rq_total:")
		})
	})
	t.Run("ENVOY_STATS_CONFIG_FILE", func(t *testing.T) {
		app, admin := runEnvoyWith(t, Config{}, []Fragment{{Name: "ENVOY_STATS_CONFIG_FILE", Data: []byte(statsFragment)}})
		sendRequests(t, app, 1)
		if prom := getBody(t, admin+"/stats/prometheus"); !strings.Contains(prom, `team="payments"`) {
			t.Errorf("/stats/prometheus lacks the file's tag team=\"payments\"")
		}
	})
}

// TestEnvoyListenerTags: App Mesh's always-on regex tags split a
// multi-listener stat prefix ingress.<protocol>.<port> into
// appmesh.listener_protocol and appmesh.listener_port.
func TestEnvoyListenerTags(t *testing.T) {
	app, admin := runEnvoy(t, Config{Telemetry: Telemetry{StatsTags: append(slices.Clip(appMeshTags), ListenerTags...)}})
	sendRequests(t, app, 2)
	prom := getBody(t, admin+"/stats/prometheus")
	for _, l := range strings.Split(prom, "\n") {
		if strings.HasPrefix(l, "envoy_http_downstream_rq_total{") && strings.Contains(l, `appmesh_listener_protocol="http"`) &&
			strings.Contains(l, `appmesh_listener_port="8080"`) && strings.Contains(l, `envoy_http_conn_manager_prefix="ingress"`) {
			t.Logf("prometheus: %s", l)
			return
		}
	}
	t.Errorf("no downstream_rq_total with listener tags in /stats/prometheus:\n%.3000s", prom)
}
