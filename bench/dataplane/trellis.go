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
func startTrellisPath(ctx context.Context, procs *processes, o options, work string) ([]envoyAdmin, error) {
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
		admin, err := startSidecar(procs, o, work, xds, sc.node, sc.ip)
		if err != nil {
			return nil, err
		}
		admins = append(admins, envoyAdmin{"trellis " + sc.node, admin})
	}
	return admins, nil
}

// startSidecar runs `trellis sidecar` for one node with its listeners on
// ip; it returns its Envoy's admin address.
func startSidecar(procs *processes, o options, work, xds, node, ip string) (string, error) {
	admin, err := freePort("127.0.0.1")
	if err != nil {
		return "", err
	}
	agent, err := freePort("127.0.0.1")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", admin), procs.start(filepath.Join(work, "sidecar-"+node+".log"), o.trellis, "sidecar",
		"--mesh", "bench", "--virtual-node", node, "--xds-address", xds, "--envoy-path", o.envoy,
		"--interception", "none", "--ingress-address", ip, "--egress-address", ip,
		"--app-address", appIP, "--app-ports", fmt.Sprintf("%d:%d", listenPort, appPort),
		"--admin-port", strconv.Itoa(admin), "--agent-addr", fmt.Sprintf("127.0.0.1:%d", agent),
		"--envoy-log-level", "warn", "--concurrency", strconv.Itoa(o.concurrency), "--drain-time", "1",
		"--log-level", "warn")
}

// defineMesh creates the mesh: back (an HTTP listener, found at its
// loopback address), the virtual service back.local it provides, and front,
// whose one backend is back.local.
func defineMesh(ctx context.Context, base string) error {
	if err := waitAPI(ctx, base, 30*time.Second); err != nil {
		return err
	}
	calls := []struct{ path, body string }{
		{"/v20190125/meshes", `{"meshName":"bench"}`},
		{"/v20190125/meshes/bench/virtualNodes", fmt.Sprintf(`{"virtualNodeName":"back","spec":{"listeners":[{"portMapping":{"port":%d,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":%q}}}}`, listenPort, trellisBack)},
		{"/v20190125/meshes/bench/virtualServices", fmt.Sprintf(`{"virtualServiceName":%q,"spec":{"provider":{"virtualNode":{"virtualNodeName":"back"}}}}`, serviceHost)},
		{"/v20190125/meshes/bench/virtualNodes", fmt.Sprintf(`{"virtualNodeName":"front","spec":{"backends":[{"virtualService":{"virtualServiceName":%q}}]}}`, serviceHost)},
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
