package meshview

import (
	"fmt"
	"sort"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// Snapshot is every App Mesh resource at one store revision. It is never
// modified after it is published; a new revision shares unchanged meshes
// with the previous snapshot.
type Snapshot struct {
	Revision int64
	meshes   map[string]*Mesh
}

// Mesh returns a mesh by name, or nil.
func (s *Snapshot) Mesh(name string) *Mesh { return s.meshes[name] }

// MeshNames returns every mesh name, sorted.
func (s *Snapshot) MeshNames() []string { return sortedKeys(s.meshes) }

// Mesh is one mesh and its resources. A mesh's children can be present
// without the mesh record only transiently; Resource is nil then.
type Mesh struct {
	Name            string
	Resource        *appmesh.Resource
	Spec            *appmesh.MeshSpec
	VirtualNodes    Index[*VirtualNode]
	VirtualServices Index[*VirtualService]
	VirtualRouters  Index[*VirtualRouter]
	VirtualGateways Index[*VirtualGateway]
}

// VirtualNode is a virtual node with its decoded spec.
type VirtualNode struct {
	*appmesh.Resource
	Spec *appmesh.VirtualNodeSpec
}

// VirtualService is a virtual service with its decoded spec.
type VirtualService struct {
	*appmesh.Resource
	Spec *appmesh.VirtualServiceSpec
}

// VirtualRouter is a virtual router, its decoded spec and its routes.
type VirtualRouter struct {
	*appmesh.Resource
	Spec   *appmesh.VirtualRouterSpec
	Routes map[string]*Route
}

// Route is a route with its decoded spec.
type Route struct {
	*appmesh.Resource
	Spec *appmesh.RouteSpec
}

// VirtualGateway is a virtual gateway, its decoded spec and its routes.
type VirtualGateway struct {
	*appmesh.Resource
	Spec          *appmesh.VirtualGatewaySpec
	GatewayRoutes map[string]*GatewayRoute
}

// GatewayRoute is a gateway route with its decoded spec.
type GatewayRoute struct {
	*appmesh.Resource
	Spec *appmesh.GatewayRouteSpec
}

// SortedRoutes returns the router's routes ordered by name.
func (r *VirtualRouter) SortedRoutes() []*Route {
	out := make([]*Route, 0, len(r.Routes))
	for _, n := range sortedKeys(r.Routes) {
		out = append(out, r.Routes[n])
	}
	return out
}

// SortedGatewayRoutes returns the gateway's routes ordered by name.
func (g *VirtualGateway) SortedGatewayRoutes() []*GatewayRoute {
	out := make([]*GatewayRoute, 0, len(g.GatewayRoutes))
	for _, n := range sortedKeys(g.GatewayRoutes) {
		out = append(out, g.GatewayRoutes[n])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func newMesh(name string) *Mesh { return &Mesh{Name: name} }

// decodeSpec decodes a resource's spec into its typed form.
func decodeSpec[T any](r *appmesh.Resource) (T, error) {
	var zero T
	s, err := r.DecodeSpec()
	if err != nil {
		return zero, fmt.Errorf("decode %s %s spec: %w", r.Kind, r.Name, err)
	}
	t, ok := s.(T)
	if !ok {
		return zero, fmt.Errorf("%s %s: unexpected spec type %T", r.Kind, r.Name, s)
	}
	return t, nil
}
