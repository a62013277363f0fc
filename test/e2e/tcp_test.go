package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// startEcho runs a TCP server that prefixes every line with its name.
func startEcho(t *testing.T, name, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					fmt.Fprintf(conn, "%s:%s\n", name, sc.Text())
				}
			}()
		}
	}()
}

func tcpRoundTrip(addr, line string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(conn, line+"\n"); err != nil {
		return "", err
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	return reply, err
}

func TestTCPRoute(t *testing.T) {
	c := startTrellis(t)
	dbIP, frontIP := loopbackIP(), loopbackIP()
	const port = 7000
	startEcho(t, "db-v1", fmt.Sprintf("%s:%d", dbIP, port))
	c.mesh(t, "tcp", "")
	c.node(t, "tcp", "db-v1", nodeSpec(dbIP, port, types.PortProtocolTcp))
	c.node(t, "tcp", "front", nodeSpec("", 0, "", "db.local"))
	c.router(t, "tcp", "db-router", port, types.PortProtocolTcp)
	c.route(t, "tcp", "db-router", "db-route", &types.RouteSpec{TcpRoute: &types.TcpRoute{
		Action: &types.TcpRouteAction{WeightedTargets: []types.WeightedTarget{wt("db-v1", 100)}}}})
	c.serviceByRouter(t, "tcp", "db.local", "db-router")
	startEnvoy(t, c, proxyConfig{NodeID: "mesh/tcp/virtualNode/front", IP: frontIP})
	front := fmt.Sprintf("%s:%d", frontIP, port)
	eventually(t, 10*time.Second, func() error {
		reply, err := tcpRoundTrip(front, "ping")
		if err != nil {
			return err
		}
		if reply != "db-v1:ping\n" {
			return fmt.Errorf("reply %q", reply)
		}
		return nil
	})
}
