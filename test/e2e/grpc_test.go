package e2e

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// startHealthServer runs a gRPC server whose health service reports status
// for the service name "who": each upstream answers differently, so the
// client can tell where a call was routed.
func startHealthServer(t *testing.T, addr string, status healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	h := health.NewServer()
	h.SetServingStatus("who", status)
	healthpb.RegisterHealthServer(s, h)
	go s.Serve(ln)
	t.Cleanup(s.Stop)
}

func TestGRPCRouting(t *testing.T) {
	c := startTrellis(t)
	aIP, bIP, frontIP := loopbackIP(), loopbackIP(), loopbackIP()
	const port = 9090
	startHealthServer(t, fmt.Sprintf("%s:%d", aIP, port), healthpb.HealthCheckResponse_SERVING)
	startHealthServer(t, fmt.Sprintf("%s:%d", bIP, port), healthpb.HealthCheckResponse_NOT_SERVING)
	c.mesh(t, "grpc", "")
	c.node(t, "grpc", "a", nodeSpec(aIP, port, types.PortProtocolGrpc))
	c.node(t, "grpc", "b", nodeSpec(bIP, port, types.PortProtocolGrpc))
	c.node(t, "grpc", "front", nodeSpec("", 0, "", "health.grpc.local"))
	c.router(t, "grpc", "r", port, types.PortProtocolGrpc)
	grpcRoute := func(prio int32, match *types.GrpcRouteMatch, target string) *types.RouteSpec {
		return &types.RouteSpec{Priority: aws.Int32(prio), GrpcRoute: &types.GrpcRoute{Match: match,
			Action: &types.GrpcRouteAction{WeightedTargets: []types.WeightedTarget{wt(target, 100)}}}}
	}
	c.route(t, "grpc", "r", "check-to-a", grpcRoute(1, &types.GrpcRouteMatch{ServiceName: aws.String("grpc.health.v1.Health"), MethodName: aws.String("Check")}, "a"))
	c.route(t, "grpc", "r", "rest-to-b", grpcRoute(2, &types.GrpcRouteMatch{ServiceName: aws.String("grpc.health.v1.Health")}, "b"))
	c.serviceByRouter(t, "grpc", "health.grpc.local", "r")
	startEnvoy(t, c, proxyConfig{NodeID: "mesh/grpc/virtualNode/front", IP: frontIP})

	conn, err := grpc.NewClient(fmt.Sprintf("%s:%d", frontIP, port),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority("health.grpc.local"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	eventually(t, 10*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "who"})
		if err != nil {
			return err
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("Check routed to b (status %v), want a", resp.Status)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	stream, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "who"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil || first.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch should reach b: %v %v", first, err)
	}
}
