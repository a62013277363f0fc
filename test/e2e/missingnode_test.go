package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// TestSidecarNotReadyForMissingNode: a sidecar for a node that does not
// exist is not ready and says why; once the node is created it gets its
// listeners and clusters and turns ready.
func TestSidecarNotReadyForMissingNode(t *testing.T) {
	c := startTrellis(t)
	ip := loopbackIP()
	c.mesh(t, "color", "")
	s := startSidecar(t, c, "color", "front", ip)
	readyBody := func() (int, string) {
		resp, err := http.Get(s.agent + "/ready")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Envoy is up and connected, yet stays INITIALIZING.
	eventually(t, 15*time.Second, func() error {
		if code, _ := readyBody(); code == 0 {
			return fmt.Errorf("agent not answering yet")
		}
		if st := s.status(t); !st.ManagementServerConnected {
			return fmt.Errorf("not connected yet: %+v", st)
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	code, body := readyBody()
	if code != 503 || !strings.Contains(body, "INITIALIZING") || !strings.Contains(body, "does not exist") {
		t.Fatalf("/ready for a missing node = %d %q, want 503 INITIALIZING with the reason", code, body)
	}
	c.node(t, "color", "front", nodeSpec(ip, colorPort, types.PortProtocolHttp))
	eventually(t, 15*time.Second, func() error {
		if code, body := readyBody(); code != 200 {
			return fmt.Errorf("/ready = %d %q", code, body)
		}
		return nil
	})
}
