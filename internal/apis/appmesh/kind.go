package appmesh

// Kind is one of the seven App Mesh resource kinds.
type Kind int

// The resource kinds, in dependency order (a kind may reference only kinds
// before it, except routes and virtual services which reference each other's
// providers by name).
const (
	KindMesh Kind = iota + 1
	KindVirtualNode
	KindVirtualRouter
	KindRoute
	KindVirtualService
	KindVirtualGateway
	KindGatewayRoute
)

// Kinds lists every kind in dependency order.
var Kinds = []Kind{KindMesh, KindVirtualNode, KindVirtualRouter, KindRoute, KindVirtualService, KindVirtualGateway, KindGatewayRoute}

// kindInfo is the naming of one kind across the API: type names, JSON keys,
// URI segments and ARN segments.
type kindInfo struct {
	name      string // VirtualNode
	nameKey   string // virtualNodeName
	listKey   string // virtualNodes (list response key and URI collection)
	arnSeg    string // virtualNode
	parent    Kind   // 0, or the kind whose child this is (routes, gateway routes)
	parentSeg string // singular URI segment of the parent for children
}

var kindInfos = map[Kind]kindInfo{
	KindMesh:           {"Mesh", "meshName", "meshes", "mesh", 0, ""},
	KindVirtualNode:    {"VirtualNode", "virtualNodeName", "virtualNodes", "virtualNode", 0, ""},
	KindVirtualRouter:  {"VirtualRouter", "virtualRouterName", "virtualRouters", "virtualRouter", 0, ""},
	KindRoute:          {"Route", "routeName", "routes", "route", KindVirtualRouter, "virtualRouter"},
	KindVirtualService: {"VirtualService", "virtualServiceName", "virtualServices", "virtualService", 0, ""},
	KindVirtualGateway: {"VirtualGateway", "virtualGatewayName", "virtualGateways", "virtualGateway", 0, ""},
	KindGatewayRoute:   {"GatewayRoute", "gatewayRouteName", "gatewayRoutes", "gatewayRoute", KindVirtualGateway, "virtualGateway"},
}

// String returns the type name (VirtualNode).
func (k Kind) String() string {
	if i, ok := kindInfos[k]; ok {
		return i.name
	}
	return "Unknown"
}

// NameKey returns the JSON key of the resource's name (virtualNodeName).
func (k Kind) NameKey() string { return kindInfos[k].nameKey }

// ListKey returns the plural JSON key and URI collection (virtualNodes).
func (k Kind) ListKey() string { return kindInfos[k].listKey }

// ARNSegment returns the kind's segment in ARNs and node ids (virtualNode).
func (k Kind) ARNSegment() string { return kindInfos[k].arnSeg }

// Parent returns the kind this kind nests under (besides the mesh), or 0.
func (k Kind) Parent() Kind { return kindInfos[k].parent }

// KindByARNSegment maps an ARN segment back to its kind.
func KindByARNSegment(seg string) (Kind, bool) {
	for k, i := range kindInfos {
		if i.arnSeg == seg {
			return k, true
		}
	}
	return 0, false
}

// NewSpec returns a pointer to a zero spec of the kind's Go type.
func (k Kind) NewSpec() any {
	switch k {
	case KindMesh:
		return &MeshSpec{}
	case KindVirtualNode:
		return &VirtualNodeSpec{}
	case KindVirtualRouter:
		return &VirtualRouterSpec{}
	case KindRoute:
		return &RouteSpec{}
	case KindVirtualService:
		return &VirtualServiceSpec{}
	case KindVirtualGateway:
		return &VirtualGatewaySpec{}
	case KindGatewayRoute:
		return &GatewayRouteSpec{}
	}
	return nil
}
