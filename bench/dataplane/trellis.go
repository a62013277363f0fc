package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// startTrellisPath starts `trellis server`, defines the mesh over the App
// Mesh API and starts one `trellis sidecar` per virtual node.
// With b (the -mtls flag) it also starts the auto-mTLS path (mtls.go).
func startTrellisPath(ctx context.Context, procs *processes, o options, work string, b *benchCA) ([]envoyAdmin, error) {
	apiPort, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	xdsPort, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	api := fmt.Sprintf("127.0.0.1:%d", apiPort)
	xds := fmt.Sprintf("127.0.0.1:%d", xdsPort)
	err = procs.start(filepath.Join(work, "server.log"), o.trellis, "server", "--auth=false", // loopback only; the bench measures the data plane
		"--data-dir", filepath.Join(work, "data"), "--api-addr", api, "--xds-addr", xds, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	if err := defineMesh(ctx, "http://"+api); err != nil {
		return nil, err
	}
	var admins []envoyAdmin
	for _, sc := range []struct{ node, ip string }{{"back", trellisBack}, {"front", trellisFront}} {
		admin, err := startSidecar(procs, o, work, xds, "bench", sc.node, sc.ip)
		if err != nil {
			return nil, err
		}
		admins = append(admins, envoyAdmin{"trellis " + sc.node, admin})
	}
	if b != nil {
		more, err := startMTLSPath(ctx, procs, o, work, "http://"+api, xds, b)
		if err != nil {
			return nil, fmt.Errorf("mtls path: %w", err)
		}
		admins = append(admins, more...)
	}
	return admins, nil
}

// startSidecar runs `trellis sidecar` for one node of mesh with its
// listeners on ip (and extra flags); it returns its Envoy's admin address.
func startSidecar(procs *processes, o options, work, xds, mesh, node, ip string, extra ...string) (string, error) {
	admin, err := freePort("127.0.0.1")
	if err != nil {
		return "", err
	}
	agent, err := freePort("127.0.0.1")
	if err != nil {
		return "", err
	}
	args := []string{"sidecar",
		"--mesh", mesh, "--virtual-node", node, "--xds-address", xds, "--envoy-path", o.envoy,
		"--interception", "none", "--ingress-address", ip, "--egress-address", ip,
		"--app-address", appIP, "--app-ports", fmt.Sprintf("%d:%d", listenPort, appPort),
		"--admin-port", strconv.Itoa(admin), "--agent-addr", fmt.Sprintf("127.0.0.1:%d", agent),
		"--envoy-log-level", "warn", "--concurrency", strconv.Itoa(o.concurrency), "--drain-time", "1",
		"--log-level", "warn"}
	return fmt.Sprintf("127.0.0.1:%d", admin), procs.start(filepath.Join(work, "sidecar-"+mesh+"-"+node+".log"), o.trellis,
		append(args, extra...)...)
}

// defineMesh creates the mesh: back (an HTTP listener, found at its
// loopback address), the virtual service back.local it provides, and front,
// whose one backend is back.local.
func defineMesh(ctx context.Context, base string) error {
	if err := waitAPI(ctx, base, 30*time.Second); err != nil {
		return err
	}
	return defineMeshNamed(ctx, base, "bench", "", trellisBack)
}

// defineMeshNamed creates that shape as mesh name (tagsJSON is appended to
// the CreateMesh body), with back found at backIP.
func defineMeshNamed(ctx context.Context, base, name, tagsJSON, backIP string) error {
	m := "/v20190125/meshes/" + name
	calls := []struct{ path, body string }{
		{"/v20190125/meshes", fmt.Sprintf(`{"meshName":%q%s}`, name, tagsJSON)},
		{m + "/virtualNodes", fmt.Sprintf(`{"virtualNodeName":"back","spec":{"listeners":[{"portMapping":{"port":%d,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":%q}}}}`, listenPort, backIP)},
		{m + "/virtualServices", fmt.Sprintf(`{"virtualServiceName":%q,"spec":{"provider":{"virtualNode":{"virtualNodeName":"back"}}}}`, serviceHost)},
		{m + "/virtualNodes", fmt.Sprintf(`{"virtualNodeName":"front","spec":{"backends":[{"virtualService":{"virtualServiceName":%q}}]}}`, serviceHost)},
	}
	for _, c := range calls {
		if err := put(ctx, base+c.path, c.body); err != nil {
			return err
		}
	}
	return nil
}

func put(ctx context.Context, url, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: %d %s", url, resp.StatusCode, b)
	}
	return nil
}

// waitAPI polls GET /healthz until the server answers.
func waitAPI(ctx context.Context, base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("trellis server API %s not up after %v", base, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
