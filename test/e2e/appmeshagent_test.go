package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// stockFrontARN is the node id the App Mesh Envoy image's agent sets from
// APPMESH_RESOURCE_ARN: the full ARN, copied verbatim into node.id and
// node.cluster.
const stockFrontARN = "arn:aws:appmesh:us-west-2:123456789012:mesh/color/virtualNode/front"

// TestStockAppMeshBootstrap runs Envoy with bootstraps shaped like the ones
// the stock aws-appmesh-envoy agent writes when APPMESH_XDS_ENDPOINT points
// at another control plane (reference §1.2–1.4): host:port gives google_grpc
// ADS over TLS with call credentials, unix:///path gives plaintext
// google_grpc over a Unix socket plus a static EDS cluster local_cluster.
//
// The stock node sends no trellis metadata, so it gets the iptables shape
// (listeners on 0.0.0.0:15000/15001 keyed by original destination port).
// Without iptables no request can be steered through it, so the test
// asserts what a sidecar needs before traffic: Envoy went LIVE, holds the
// egress listener and the backend's cluster, and Trellis saw every type
// ACKed. The two Envoys bind the same fixed ports and run one after the
// other.
//
// The image signs with call_credentials from_plugin
// envoy.grpc_credentials.aws_iam (SigV4: authorization, x-amz-date,
// x-amz-security-token). Envoy ≥ 1.35 removed that extension, so when
// `envoy --mode validate` refuses it the test sends the same metadata with
// call_credentials access_token (authorization: Bearer …) plus
// initial_metadata x-amz-date / x-amz-security-token, which exercises the
// same thing on the server: unknown per-RPC metadata must not break ADS.
// The agent's runtime key envoy.reloadable_features.no_extension_lookup_by_name
// is left out: Envoy 1.40 removed that guard and logs an envoy_bug for it.
func TestStockAppMeshBootstrap(t *testing.T) {
	bin := envoyBinary(t)
	p := newPKI(t)
	certFile, keyFile := p.issue(t, "xds", "127.0.0.1", "localhost")
	sockDir, err := os.MkdirTemp("", "trellis-xds") // short: sun_path is 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "xds.sock")
	// A stale socket file from an earlier run must be replaced.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	// Registered before Trellis starts, so it runs after Trellis stopped.
	t.Cleanup(func() {
		if _, err := os.Lstat(sock); !os.IsNotExist(err) {
			t.Errorf("xds unix socket still exists after stop: %v", err)
		}
	})
	logs := &syncWriter{w: &bytes.Buffer{}}
	c := startTrellisWith(t, server.Config{XDSTLSCert: certFile, XDSTLSKey: keyFile, XDSUnixSocket: sock}, logs)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("xds unix socket %s: %v %v, want a socket with mode 0660", sock, fi.Mode(), err)
	}

	blueIP := loopbackIP()
	startApp(t, "blue", blueIP, colorPort)
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", nodeSpec(blueIP, colorPort, types.PortProtocolHttp))
	c.node(t, "color", "front", nodeSpec("", 0, "", "color.local"))
	c.router(t, "color", "color-router", colorPort, types.PortProtocolHttp)
	c.route(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 1))))
	c.serviceByRouter(t, "color", "color.local", "color-router")

	_, xdsPort, _ := net.SplitHostPort(c.srv.XDSAddr())
	callCreds, initialMD, awsIAM := stockCallCredentials(t, bin, p.CAFile)
	if !awsIAM {
		t.Logf("this Envoy build has no envoy.grpc_credentials.aws_iam (removed in Envoy 1.35); " +
			"sending SigV4-shaped metadata with access_token call credentials and initial_metadata instead")
	}
	variants := []struct {
		name, grpcService string
		relay             bool
	}{
		{"tls", stockTLSService("127.0.0.1:"+xdsPort, p.CAFile, callCreds, initialMD), false},
		{"unix", stockUnixService(sock), true},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			e := startStockEnvoy(t, bin, stockBootstrap(v.grpcService, v.relay))
			defer e.stop(t, c)
			e.waitLive(t)
			expectAdmin(t, e.admin+"/listeners", "lds_egress_0.0.0.0_15001")
			expectAdmin(t, e.admin+"/clusters", "cds_egress_color_blue_http_9080::")
			expectAllAcked(t, c, stockFrontARN)
			if n := e.stat(t, "control_plane.connected_state"); n != 1 {
				t.Errorf("control_plane.connected_state = %d, want 1", n)
			}
		})
	}

	// Over TLS the call credentials reached the server and did no harm.
	if got := logs.String(); !strings.Contains(got, `msg="xds stream call credentials"`) ||
		!strings.Contains(got, "authorization=true x-amz-date=true") {
		t.Errorf("server did not log a stream with authorization and x-amz-date metadata; log:\n%s", got)
	}
}

// stockCallCredentials returns the call_credentials (and extra
// initial_metadata) YAML of the TLS variant: the image's aws_iam plugin
// when this Envoy still validates it, otherwise the SigV4 headers sent
// another way. The second result reports which.
func stockCallCredentials(t *testing.T, bin, caFile string) (callCreds, initialMD string, awsIAM bool) {
	t.Helper()
	awsIAMCreds := `
        credentials_factory_name: envoy.grpc_credentials.aws_iam
        call_credentials:
        - from_plugin:
            name: envoy.grpc_credentials.aws_iam
            typed_config:
              "@type": type.googleapis.com/envoy.config.grpc_credential.v3.AwsIamConfig
              service_name: appmesh
              region: us-west-2`
	probe := stockBootstrap(stockTLSService("127.0.0.1:1", caFile, awsIAMCreds, ""), false)
	probe = strings.Replace(probe, "ADMIN_PORT", "0", 1)
	path := filepath.Join(t.TempDir(), "probe.yaml")
	if err := os.WriteFile(path, []byte(probe), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--mode", "validate", "-c", path).CombinedOutput()
	if err == nil {
		return awsIAMCreds, "", true
	}
	if !strings.Contains(string(out), "AwsIamConfig") {
		t.Fatalf("validating the aws_iam bootstrap failed for another reason: %v\n%s", err, out)
	}
	// Without credentials in the environment the aws_iam signer sends
	// nothing; these stand-ins send the headers a signed request carries.
	return `
        call_credentials:
        - access_token: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-west-2/appmesh/aws4_request, SignedHeaders=host;x-amz-date, Signature=0"`, `
      initial_metadata:
      - {key: x-amz-date, value: 20250101T000000Z}
      - {key: x-amz-security-token, value: fake-session-token}`, false
}

// stockTLSService is the image's grpc_services entry for a host:port
// endpoint (buildRegionalAdsGrpcService), with the test CA in place of
// /etc/pki/tls/cert.pem.
func stockTLSService(target, caFile, callCreds, initialMD string) string {
	return fmt.Sprintf(`
    - google_grpc:
        target_uri: %s
        stat_prefix: ads
        channel_credentials:
          ssl_credentials:
            root_certs: {filename: %s}%s
        channel_args: %s%s`, target, caFile, callCreds, stockChannelArgs, initialMD)
}

// stockUnixService is the image's entry for unix:///path
// (buildAdsGrpcServiceForRelayEndpoint): no TLS, no call credentials.
func stockUnixService(sock string) string {
	return fmt.Sprintf(`
    - google_grpc:
        target_uri: unix://%s
        stat_prefix: ads
        channel_args: %s`, sock, stockChannelArgs)
}

const stockChannelArgs = `
          args:
            grpc.http2.max_pings_without_data: {int_value: 0}
            grpc.keepalive_time_ms: {int_value: 10000}
            grpc.keepalive_timeout_ms: {int_value: 20000}`

// stockBootstrap is the agent's bootstrap (reference §1.2) around one
// grpc_services entry, with admin on a port chosen later (placeholder
// ADMIN_PORT). relay adds what the agent adds for a unix:// endpoint.
func stockBootstrap(grpcService string, relay bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `admin:
  access_log:
  - name: envoy.access_loggers.file
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
      path: /dev/null
  address: {socket_address: {address: 127.0.0.1, port_value: ADMIN_PORT}}
node:
  id: %[1]s
  cluster: %[1]s
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:%[2]s
  lds_config: {ads: {}, resource_api_version: V3, initial_fetch_timeout: 0s}
  cds_config: {ads: {}, resource_api_version: V3, initial_fetch_timeout: 0s}
layered_runtime:
  layers:
  - name: static_layer_0
    static_layer:
      envoy.features.enable_all_deprecated_features: true
      re2.max_program_size.error_level: 1000
  - name: admin_layer
    admin_layer: {}
cluster_manager:
  outlier_detection: {event_log_path: /dev/null}
`, stockFrontARN, grpcService)
	if relay {
		b.WriteString(`  local_cluster_name: local_cluster
static_resources:
  clusters:
  - name: local_cluster
    type: EDS
    connect_timeout: 1s
    eds_cluster_config:
      eds_config: {ads: {}, resource_api_version: V3, initial_fetch_timeout: 0.001s}
`)
	}
	return b.String()
}

// stockEnvoy is an Envoy started from a hand-written bootstrap.
type stockEnvoy struct{ envoyProc }

func startStockEnvoy(t *testing.T, bin, yaml string) *stockEnvoy {
	t.Helper()
	adminPort := freePort(t, "127.0.0.1")
	yaml = strings.Replace(yaml, "ADMIN_PORT", fmt.Sprint(adminPort), 1)
	path := filepath.Join(t.TempDir(), "bootstrap.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &stockEnvoy{envoyProc{admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort), log: newLogBuffer()}}
	// The agent's flags (agent.go buildCommandArgs), with a short drain.
	e.cmd = exec.Command(bin, "-c", path, "-l", "info", "--concurrency", "1",
		"--drain-time-s", "1", "--disable-hot-restart", "--skip-deprecated-logs")
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bootstrap:\n%s\nenvoy log:\n%s", yaml, e.log.String())
		}
	})
	return e
}

// stop kills Envoy and waits until Trellis has closed its stream, so the
// next variant can bind the same ports and is the node's only stream.
func (e *stockEnvoy) stop(t *testing.T, c *cp) {
	t.Helper()
	e.cmd.Process.Kill()
	e.cmd.Wait()
	eventually(t, 10*time.Second, func() error {
		if st := xdsStatus(t, c, stockFrontARN); len(st) != 0 {
			return fmt.Errorf("%d streams of %s still open", len(st), stockFrontARN)
		}
		return nil
	})
}

// expectAdmin waits until an admin page mentions want.
func expectAdmin(t *testing.T, url, want string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), want) {
			return fmt.Errorf("%s does not list %s:\n%s", url, want, body)
		}
		return nil
	})
}

// expectAllAcked waits until the node has one stream on /debug/xds whose
// every type is ACKed at its desired version, LDS and CDS included.
func expectAllAcked(t *testing.T, c *cp, node string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		st := xdsStatus(t, c, node)
		if len(st) != 1 {
			return fmt.Errorf("%d streams for %s, want 1", len(st), node)
		}
		for _, typ := range []string{"type.googleapis.com/envoy.config.listener.v3.Listener", "type.googleapis.com/envoy.config.cluster.v3.Cluster"} {
			if _, ok := st[0].Types[typ]; !ok {
				return fmt.Errorf("%s not sent: %+v", typ, st[0].Types)
			}
		}
		for typ, ts := range st[0].Types {
			if ts.LastNACK != nil {
				return fmt.Errorf("%s NACKed: %s", typ, ts.LastNACK.Message)
			}
			if ts.AckedVersion == "" || ts.AckedVersion != ts.DesiredVersion {
				return fmt.Errorf("%s acked %q, desired %q", typ, ts.AckedVersion, ts.DesiredVersion)
			}
		}
		return nil
	})
}

func xdsStatus(t *testing.T, c *cp, node string) []xdsserver.NodeStatus {
	t.Helper()
	resp, err := http.Get("http://" + c.srv.Addr() + "/debug/xds?node=" + url.QueryEscape(node))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st []xdsserver.NodeStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
