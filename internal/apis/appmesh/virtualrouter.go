package appmesh

// VirtualRouterSpec is the specification of a virtual router.
type VirtualRouterSpec struct {
	Listeners []VirtualRouterListener `json:"listeners,omitempty"`
}

// VirtualRouterListener is one listener of a virtual router.
type VirtualRouterListener struct {
	PortMapping *PortMapping `json:"portMapping"`
}
