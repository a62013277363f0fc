package appmesh

// VirtualServiceSpec is the specification of a virtual service.
type VirtualServiceSpec struct {
	Provider *VirtualServiceProvider `json:"provider,omitempty"`
}

// VirtualServiceProvider is a union: a virtual node or a virtual router.
type VirtualServiceProvider struct {
	VirtualNode   *VirtualNodeServiceProvider   `json:"virtualNode,omitempty"`
	VirtualRouter *VirtualRouterServiceProvider `json:"virtualRouter,omitempty"`
}

// VirtualNodeServiceProvider names the virtual node providing a service.
type VirtualNodeServiceProvider struct {
	VirtualNodeName string `json:"virtualNodeName"`
}

// VirtualRouterServiceProvider names the virtual router providing a service.
type VirtualRouterServiceProvider struct {
	VirtualRouterName string `json:"virtualRouterName"`
}
