package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// spanSink is a Zipkin v2 JSON receiver (POST /api/v2/spans).
type spanSink struct {
	mu    sync.Mutex
	spans []zipkinSpan
}

type zipkinSpan struct {
	Name          string                       `json:"name"`
	Kind          string                       `json:"kind"`
	LocalEndpoint struct{ ServiceName string } `json:"localEndpoint"`
	Tags          map[string]string            `json:"tags"`
}

func startSpanSink(t *testing.T) (*spanSink, int) {
	t.Helper()
	s := &spanSink{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/spans", func(w http.ResponseWriter, r *http.Request) {
		var got []zipkinSpan
		if err := json.NewDecoder(r.Body).Decode(&got); err == nil {
			s.mu.Lock()
			s.spans = append(s.spans, got...)
			s.mu.Unlock()
		}
		w.WriteHeader(http.StatusAccepted)
	})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return s, ln.Addr().(*net.TCPAddr).Port
}

func (s *spanSink) find(service, kind string) (zipkinSpan, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range s.spans {
		if sp.LocalEndpoint.ServiceName == service && sp.Kind == kind {
			return sp, true
		}
	}
	return zipkinSpan{}, false
}

// statsdSink records DogStatsD datagrams.
type statsdSink struct {
	mu    sync.Mutex
	lines []string
}

func startStatsdSink(t *testing.T) (*statsdSink, int) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &statsdSink{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.lines = append(s.lines, strings.Split(string(buf[:n]), "\n")...)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return s, pc.LocalAddr().(*net.UDPAddr).Port
}

func (s *statsdSink) find(prefix string, tags ...string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		ok := strings.HasPrefix(l, prefix)
		for _, tag := range tags {
			ok = ok && strings.Contains(l, tag)
		}
		if ok {
			return l, true
		}
	}
	return "", false
}

// TestSidecarTelemetry runs the whole chain with App Mesh's variables:
// `trellis sidecar` with ENABLE_ENVOY_JAEGER_TRACING (JSON),
// ENABLE_ENVOY_STATS_TAGS and ENABLE_ENVOY_DOG_STATSD renders the
// bootstrap, says trellis.tracing in its node metadata, the server sends
// HTTP managers with a tracing block, and traffic through the sidecar
// reaches a Zipkin receiver as spans of the node cluster and a DogStatsD
// receiver as tagged metrics.
func TestSidecarTelemetry(t *testing.T) {
	envoyBinary(t)
	spans, zipkinPort := startSpanSink(t)
	stats, statsdPort := startStatsdSink(t)
	c := startTrellis(t)
	blueIP, frontIP := loopbackIP(), loopbackIP()
	startApp(t, "blue", blueIP, colorPort)
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", nodeSpec(blueIP, colorPort, types.PortProtocolHttp))
	c.node(t, "color", "front", nodeSpec("", 0, "", "color.local"))
	c.serviceByNode(t, "color", "color.local", "blue")
	s := startSidecarEnv(t, c, "color", "front", frontIP, map[string]string{
		"ENABLE_ENVOY_JAEGER_TRACING": "1", "JAEGER_TRACER_PORT": strconv.Itoa(zipkinPort), "JAEGER_TRACER_VERSION": "JSON",
		"ENABLE_ENVOY_STATS_TAGS": "1", "ENABLE_ENVOY_DOG_STATSD": "1", "STATSD_PORT": strconv.Itoa(statsdPort),
		"ENVOY_STATS_FLUSH_INTERVAL": "1s",
	})
	frontAddr := fmt.Sprintf("%s:%d", frontIP, colorPort)
	cl := newClient()
	eventually(t, 20*time.Second, func() error {
		if code, err := s.ready(); err != nil || code != 200 {
			return fmt.Errorf("agent /ready = %d, %v", code, err)
		}
		return nil
	})
	eventually(t, 10*time.Second, cl.expectBody(frontAddr, "color.local", "/", nil, "blue"))
	const node = "mesh/color/virtualNode/front"
	eventually(t, 20*time.Second, func() error {
		// Zipkin flushes every 5 spans or 5 s; keep traffic flowing.
		if _, _, err := cl.get(frontAddr, "color.local", "/traced", nil); err != nil {
			return err
		}
		if _, ok := spans.find(node, "CLIENT"); !ok {
			return fmt.Errorf("no egress (CLIENT) span of %s yet", node)
		}
		return nil
	})
	sp, _ := spans.find(node, "CLIENT")
	if !strings.Contains(sp.Tags["http.url"], "color.local") {
		t.Errorf("span %+v does not name the virtual service", sp)
	}
	eventually(t, 10*time.Second, func() error {
		if _, ok := stats.find("envoy.http.downstream_rq_total:", "appmesh.mesh:color", "appmesh.virtual_node:front"); !ok {
			return fmt.Errorf("no tagged downstream_rq_total on DogStatsD yet")
		}
		return nil
	})
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats/prometheus", s.cfg.Envoy.AdminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	prom, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(prom), `appmesh_mesh="color",appmesh_virtual_node="front"`) {
		t.Error("/stats/prometheus lacks the appmesh labels")
	}
}
