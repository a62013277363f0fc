package validation

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

// Spec validates the spec of a kind. spec is the pointer type returned by
// kind.NewSpec() (e.g. *appmesh.VirtualNodeSpec); a value of the spec type is
// accepted too, and nil (untyped, or a nil pointer of the right type) is
// validated as the zero spec. Field paths are rooted at "spec". It returns
// nil or an *Error.
func Spec(kind appmesh.Kind, spec any) error {
	c := &collector{}
	p := path("spec")
	switch kind {
	case appmesh.KindMesh:
		if s, ok := specOf[appmesh.MeshSpec](c, p, spec); ok {
			c.meshSpec(p, s)
		}
	case appmesh.KindVirtualNode:
		if s, ok := specOf[appmesh.VirtualNodeSpec](c, p, spec); ok {
			c.virtualNodeSpec(p, s)
		}
	case appmesh.KindVirtualRouter:
		if s, ok := specOf[appmesh.VirtualRouterSpec](c, p, spec); ok {
			c.virtualRouterSpec(p, s)
		}
	case appmesh.KindRoute:
		if s, ok := specOf[appmesh.RouteSpec](c, p, spec); ok {
			c.routeSpec(p, s)
		}
	case appmesh.KindVirtualService:
		if s, ok := specOf[appmesh.VirtualServiceSpec](c, p, spec); ok {
			c.virtualServiceSpec(p, s)
		}
	case appmesh.KindVirtualGateway:
		if s, ok := specOf[appmesh.VirtualGatewaySpec](c, p, spec); ok {
			c.virtualGatewaySpec(p, s)
		}
	case appmesh.KindGatewayRoute:
		if s, ok := specOf[appmesh.GatewayRouteSpec](c, p, spec); ok {
			c.gatewayRouteSpec(p, s)
		}
	default:
		c.addf(p, "unknown resource kind %d", int(kind))
	}
	return c.err()
}

// specOf converts spec to *T, reporting a spec of the wrong type.
func specOf[T any](c *collector, p path, spec any) (*T, bool) {
	switch s := spec.(type) {
	case nil:
		return new(T), true
	case *T:
		if s == nil {
			return new(T), true
		}
		return s, true
	case T:
		return &s, true
	}
	c.addf(p, "has type %T, want %T", spec, new(T))
	return nil, false
}
