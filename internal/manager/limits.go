package manager

import (
	"context"
	"fmt"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// Limits are the quotas the manager enforces with LimitExceededException.
// AWS's App Mesh defaults were 15 meshes per account; 200 virtual nodes,
// services and routers per mesh; 50 routes per router; 50 backends per
// virtual node. Trellis defaults sit far above them (at least 10x) so that
// no App Mesh definition that fit in AWS is refused here; they exist to stop
// runaway scripts, not to meter use.
type Limits struct {
	MeshesPerAccount               int
	VirtualNodesPerMesh            int
	VirtualServicesPerMesh         int
	VirtualRoutersPerMesh          int
	VirtualGatewaysPerMesh         int
	RoutesPerVirtualRouter         int
	GatewayRoutesPerVirtualGateway int
	BackendsPerVirtualNode         int
}

// DefaultLimits returns the documented defaults (see README, "Limits").
func DefaultLimits() Limits {
	return Limits{
		MeshesPerAccount:               1000,
		VirtualNodesPerMesh:            100000,
		VirtualServicesPerMesh:         100000,
		VirtualRoutersPerMesh:          100000,
		VirtualGatewaysPerMesh:         10000,
		RoutesPerVirtualRouter:         5000,
		GatewayRoutesPerVirtualGateway: 5000,
		BackendsPerVirtualNode:         5000,
	}
}

// perParent returns the quota on resources of kind within one parent.
func (l Limits) perParent(kind appmesh.Kind) int {
	switch kind {
	case appmesh.KindMesh:
		return l.MeshesPerAccount
	case appmesh.KindVirtualNode:
		return l.VirtualNodesPerMesh
	case appmesh.KindVirtualService:
		return l.VirtualServicesPerMesh
	case appmesh.KindVirtualRouter:
		return l.VirtualRoutersPerMesh
	case appmesh.KindVirtualGateway:
		return l.VirtualGatewaysPerMesh
	case appmesh.KindRoute:
		return l.RoutesPerVirtualRouter
	case appmesh.KindGatewayRoute:
		return l.GatewayRoutesPerVirtualGateway
	}
	return 0
}

// checkCount refuses a create that would exceed the kind's quota. The count
// is read outside the write transaction, so concurrent creates may overshoot
// by a few, as with AWS's own soft quotas.
func (m *Manager) checkCount(ctx context.Context, id appmesh.Identity) error {
	limit := m.limits.perParent(id.Kind)
	if limit <= 0 {
		return nil
	}
	n, err := m.st.Count(ctx, collectionPrefix(id.Kind, id.Mesh, id.Parent))
	if err != nil {
		return internal("store count failed", err)
	}
	if n >= int64(limit) {
		return errorf(CodeLimitExceeded, "limit of %d %s resources per %s reached", limit, id.Kind, parentWord(id.Kind))
	}
	return nil
}

// checkBackends enforces the per-node backend quota.
func (m *Manager) checkBackends(spec any) error {
	vn, ok := spec.(*appmesh.VirtualNodeSpec)
	if !ok || m.limits.BackendsPerVirtualNode <= 0 || len(vn.Backends) <= m.limits.BackendsPerVirtualNode {
		return nil
	}
	return &Error{Code: CodeLimitExceeded, Message: fmt.Sprintf("spec.backends: at most %d backends per virtual node", m.limits.BackendsPerVirtualNode)}
}

func parentWord(k appmesh.Kind) string {
	switch {
	case k == appmesh.KindMesh:
		return "account"
	case k.Parent() != 0:
		return k.Parent().String()
	}
	return "Mesh"
}
