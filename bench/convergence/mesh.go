package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// The benchmark mesh: backends virtual nodes svc-<i> (one HTTP listener,
// DNS svc-<i>.bench.local), each fronted by a virtual router with one
// route (weighted over svc-<i> and svc-<i+1>) and a virtual service
// svc-<i>.bench.local; and the client virtual nodes client-<j>, each with
// every virtual service as a backend. The updates change route 0, which
// every client reaches through svc-0.bench.local.
const (
	meshName    = "bench"
	backends    = 10
	port        = 8080
	updatedSvc  = "svc-0.bench.local"
	initialKey  = "50/50"
	clientPort  = 9090 // a varied client's own listener
	region      = "us-west-2"
	accountID   = "123456789012"
	routeName   = "route"
	routePrefix = "/"
)

func backendName(i int) string { return fmt.Sprintf("svc-%d", i) }
func serviceName(i int) string { return fmt.Sprintf("svc-%d.bench.local", i) }
func routerName(i int) string  { return fmt.Sprintf("router-%d", i) }
func clientName(j int) string  { return fmt.Sprintf("client-%d", j) }

// nodeID is the Envoy node id of simulated proxy j.
func nodeID(j int) string { return "mesh/" + meshName + "/virtualNode/" + clientName(j) }

// weightKey is how the weights of route 0 (svc-0, svc-1) read in the
// proxies' route configuration; update k sets 100-k/k.
func weightKey(k int) string {
	if k == 0 {
		return initialKey
	}
	return fmt.Sprintf("%d/%d", 100-k, k)
}

func newClient(apiAddr string) *appmesh.Client {
	return appmesh.New(appmesh.Options{
		Region:       region,
		BaseEndpoint: aws.String("http://" + apiAddr),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", ""),
	})
}

// createMesh creates the mesh; the clients' virtual nodes are created
// conc at a time. It returns the number of API calls made.
func createMesh(ctx context.Context, c *appmesh.Client, clients, conc int, varied bool) (int, error) {
	calls := 0
	do := func(what string, err error) error {
		calls++
		if err != nil {
			return fmt.Errorf("create %s: %w", what, err)
		}
		return nil
	}
	_, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String(meshName)})
	if err := do("mesh", err); err != nil {
		return calls, err
	}
	for i := range backends {
		_, err := c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{
			MeshName: aws.String(meshName), VirtualNodeName: aws.String(backendName(i)), Spec: backendSpec(i)})
		if err := do(backendName(i), err); err != nil {
			return calls, err
		}
	}
	for i := range backends {
		if err := createService(ctx, c, i, do); err != nil {
			return calls, err
		}
	}
	err = parallel(clients, conc, func(j int) error {
		_, err := c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{
			MeshName: aws.String(meshName), VirtualNodeName: aws.String(clientName(j)), Spec: clientSpec(j, varied)})
		if err != nil {
			return fmt.Errorf("create %s: %w", clientName(j), err)
		}
		return nil
	})
	return calls + clients, err
}

// createService creates backend i's router, route and virtual service.
func createService(ctx context.Context, c *appmesh.Client, i int, do func(string, error) error) error {
	_, err := c.CreateVirtualRouter(ctx, &appmesh.CreateVirtualRouterInput{
		MeshName: aws.String(meshName), VirtualRouterName: aws.String(routerName(i)),
		Spec: &types.VirtualRouterSpec{Listeners: []types.VirtualRouterListener{{PortMapping: portMapping()}}}})
	if err := do(routerName(i), err); err != nil {
		return err
	}
	_, err = c.CreateRoute(ctx, &appmesh.CreateRouteInput{
		MeshName: aws.String(meshName), VirtualRouterName: aws.String(routerName(i)), RouteName: aws.String(routeName),
		Spec: routeSpec(i, 50, 50)})
	if err := do("route of "+routerName(i), err); err != nil {
		return err
	}
	_, err = c.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{
		MeshName: aws.String(meshName), VirtualServiceName: aws.String(serviceName(i)),
		Spec: &types.VirtualServiceSpec{Provider: &types.VirtualServiceProviderMemberVirtualRouter{
			Value: types.VirtualRouterServiceProvider{VirtualRouterName: aws.String(routerName(i))}}}})
	return do(serviceName(i), err)
}

// updateRoute sets route 0's weights for update k.
func updateRoute(ctx context.Context, c *appmesh.Client, k int) error {
	_, err := c.UpdateRoute(ctx, &appmesh.UpdateRouteInput{
		MeshName: aws.String(meshName), VirtualRouterName: aws.String(routerName(0)), RouteName: aws.String(routeName),
		Spec: routeSpec(0, int32(100-k), int32(k))})
	if err != nil {
		return fmt.Errorf("update route (update %d): %w", k, err)
	}
	return nil
}

func portMapping() *types.PortMapping {
	return &types.PortMapping{Port: aws.Int32(port), Protocol: types.PortProtocolHttp}
}

func backendSpec(i int) *types.VirtualNodeSpec {
	return &types.VirtualNodeSpec{
		Listeners:        []types.Listener{{PortMapping: portMapping()}},
		ServiceDiscovery: &types.ServiceDiscoveryMemberDns{Value: types.DnsServiceDiscovery{Hostname: aws.String(serviceName(i))}},
	}
}

// clientSpec is client j's node: every service as a backend, or, varied,
// a listener of its own and the j-th non-empty subset of the services
// (bit i of j%1023+1 names svc-<i>): then every client's configuration
// differs, and route 0 reaches half of them.
func clientSpec(j int, varied bool) *types.VirtualNodeSpec {
	s := &types.VirtualNodeSpec{}
	for i := range backends {
		if !varied || usesService(j, i) {
			s.Backends = append(s.Backends, &types.BackendMemberVirtualService{
				Value: types.VirtualServiceBackend{VirtualServiceName: aws.String(serviceName(i))}})
		}
	}
	if varied {
		s.Listeners = []types.Listener{{PortMapping: &types.PortMapping{Port: aws.Int32(clientPort), Protocol: types.PortProtocolHttp}}}
		s.ServiceDiscovery = &types.ServiceDiscoveryMemberDns{Value: types.DnsServiceDiscovery{Hostname: aws.String(clientName(j) + ".bench.local")}}
	}
	return s
}

// usesService reports whether varied client j has svc-<i> as a backend.
func usesService(j, i int) bool { return (j%1023+1)&(1<<i) != 0 }

// affected reports which clients an edit of route 0 reaches.
func affected(clients int, varied bool) []bool {
	out := make([]bool, clients)
	for j := range out {
		out[j] = !varied || usesService(j, 0)
	}
	return out
}

// routeSpec splits router i's traffic over svc-<i> and svc-<i+1>.
func routeSpec(i int, w0, w1 int32) *types.RouteSpec {
	return &types.RouteSpec{HttpRoute: &types.HttpRoute{
		Match: &types.HttpRouteMatch{Prefix: aws.String(routePrefix)},
		Action: &types.HttpRouteAction{WeightedTargets: []types.WeightedTarget{
			{VirtualNode: aws.String(backendName(i)), Weight: w0},
			{VirtualNode: aws.String(backendName((i + 1) % backends)), Weight: w1},
		}},
	}}
}

// parallel runs op(0..n-1) on conc goroutines and returns the first error.
func parallel(n, conc int, op func(int) error) error {
	next := make(chan int)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first error
			for j := range next {
				if err := op(j); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for j := range n {
		next <- j
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
