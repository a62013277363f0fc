//go:build linux

package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/trellis-mesh/trellis/internal/interception"
)

// TestNetnsAWSAPIsUnderDropAll: in a DROP_ALL mesh, an app behind App
// Mesh's iptables interception still reaches AWS APIs over TLS (SNI
// *.amazonaws.com on port 443), as App Mesh documents; TLS to any other
// name on 443 is dropped, and the mesh backend keeps working.
//
//	host netns: trellis server (xDS on 10.N.1.1)
//	pod A: client, Envoy a ── 10.N.3.1/24 ─── 10.N.3.2/24 ── pod B: "AWS" TLS server on :443
func TestNetnsAWSAPIsUnderDropAll(t *testing.T) {
	envoyELF := netnsPrereqs(t)
	sfx := netnsSuffix()
	n := 200 + rand.IntN(50)
	nsA, nsB := "trellis-e2e-"+sfx+"-a", "trellis-e2e-"+sfx+"-b"
	hostA, podAHost := fmt.Sprintf("10.%d.1.1", n), fmt.Sprintf("10.%d.1.2", n)
	podALink, podB := fmt.Sprintf("10.%d.3.1", n), fmt.Sprintf("10.%d.3.2", n)
	addNetns(t, nsA)
	addNetns(t, nsB)
	linkToHost(t, nsA, "tha"+sfx, hostA, podAHost)
	linkPods(t, nsA, "eth1", podALink, nsB, "eth1", podB)

	c := startTrellisAt(t, net.JoinHostPort(hostA, "0"))
	c.mesh(t, "netns", types.EgressFilterTypeDropAll)
	c.node(t, "netns", "a", nodeSpec("", 0, ""))

	// The stand-in for an AWS endpoint: TLS on B's address, port 443.
	var ln net.Listener
	if err := inNetns(nsB, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(podB, "443"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	aws := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "aws "+r.TLS.ServerName)
	}))
	aws.Listener = ln
	aws.StartTLS()
	t.Cleanup(aws.Close)

	applyInterception(t, nsA, interception.Config{IgnoreUIDs: []int{envoyUID}})
	xdsHost, xdsPort, _ := net.SplitHostPort(c.srv.XDSAddr())
	envoyA := startEnvoyInNetns(t, envoyELF, nsA, "mesh/netns/virtualNode/a", podAHost, xdsHost, xdsPort)

	call := func(serverName string) (string, error) {
		tr := &http.Transport{DisableKeepAlives: true, DialContext: dialInNetns(nsA, nil),
			TLSClientConfig: &tls.Config{ServerName: serverName, InsecureSkipVerify: true}}
		cl := &http.Client{Timeout: 5 * time.Second, Transport: tr}
		resp, err := cl.Get("https://" + net.JoinHostPort(podB, "443") + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	const s3 = "s3.us-west-2.amazonaws.com"
	eventually(t, 30*time.Second, func() error {
		body, err := call(s3)
		if err != nil || body != "aws "+s3 {
			return fmt.Errorf("TLS to %s under DROP_ALL: %q %v", s3, body, err)
		}
		return nil
	})
	if v := envoyA.stat(t, "cluster.cds_egress_netns_amazonaws.upstream_cx_total"); v < 1 {
		t.Errorf("cds_egress_netns_amazonaws.upstream_cx_total = %d: the call did not go through Envoy's pass-through", v)
	}
	if body, err := call("example.com"); err == nil {
		t.Errorf("TLS to example.com:443 under DROP_ALL got through: %q", body)
	}
	// A server-speaks-first protocol on another port is not held up by the
	// TLS inspector: here nothing answers, so the DROP_ALL close is prompt.
	start := time.Now()
	if err := inNetns(nsA, func() error {
		conn, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", net.JoinHostPort(podB, "3306"))
		if err != nil {
			return nil
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("connection to an unmodelled port closed after %v", time.Since(start).Round(time.Millisecond))
}
