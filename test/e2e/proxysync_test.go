package e2e

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// proxyVersions reads GET /v1/proxies?mesh= as the operator's `trellis get
// proxies --mesh` does: each proxy's config version and state by name.
func (c *cp) proxyVersions(mesh string) (map[string]xdsserver.ProxyStatus, error) {
	var resp struct {
		Proxies []xdsserver.ProxyStatus `json:"proxies"`
	}
	if err := getJSON("http://"+c.srv.Addr()+"/v1/proxies?mesh="+mesh, &resp); err != nil {
		return nil, err
	}
	out := make(map[string]xdsserver.ProxyStatus, len(resp.Proxies))
	for _, p := range resp.Proxies {
		out[p.Name] = p
	}
	return out, nil
}

// waitProxiesUpdated is the operator's wait between two migration steps:
// every proxy of the mesh SYNCED, and each proxy the step changes at a
// config version other than the one it had before the step.
func (c *cp) waitProxiesUpdated(t *testing.T, mesh string, before map[string]xdsserver.ProxyStatus, changed ...string) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		now, err := c.proxyVersions(mesh)
		if err != nil {
			return err
		}
		for _, name := range changed {
			if now[name].ConfigVersion == "" || now[name].ConfigVersion == before[name].ConfigVersion {
				return fmt.Errorf("proxy %s still at version %q", name, before[name].ConfigVersion)
			}
		}
		for name := range maps.Keys(now) {
			if now[name].State != xdsserver.StateSynced {
				return fmt.Errorf("proxy %s is %s at version %s", name, now[name].State, now[name].ConfigVersion)
			}
		}
		return nil
	})
}
