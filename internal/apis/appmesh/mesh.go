package appmesh

// MeshSpec is the specification of a service mesh.
type MeshSpec struct {
	EgressFilter     *EgressFilter         `json:"egressFilter,omitempty"`
	ServiceDiscovery *MeshServiceDiscovery `json:"serviceDiscovery,omitempty"`
}

// EgressFilter decides which egress a mesh allows; absent means DROP_ALL.
type EgressFilter struct {
	Type string `json:"type"`
}

// Egress filter types.
const (
	EgressAllowAll = "ALLOW_ALL"
	EgressDropAll  = "DROP_ALL"
)

// MeshServiceDiscovery is the mesh-wide service discovery preference.
type MeshServiceDiscovery struct {
	IpPreference string `json:"ipPreference,omitempty"`
}
