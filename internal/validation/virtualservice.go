package validation

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

// virtualServiceSpec checks a VirtualServiceSpec. The provider is optional
// (a virtual service without a provider is legal) but, when present, is a
// union of a virtual node or a virtual router named by a ResourceName.
func (c *collector) virtualServiceSpec(p path, s *appmesh.VirtualServiceSpec) {
	pv := s.Provider
	if pv == nil {
		return
	}
	pp := p.field("provider")
	c.union(pp, member{"virtualNode", pv.VirtualNode != nil}, member{"virtualRouter", pv.VirtualRouter != nil})
	if pv.VirtualNode != nil {
		c.requiredString(pp.field("virtualNode").field("virtualNodeName"), pv.VirtualNode.VirtualNodeName, 1, 255)
	}
	if pv.VirtualRouter != nil {
		c.requiredString(pp.field("virtualRouter").field("virtualRouterName"), pv.VirtualRouter.VirtualRouterName, 1, 255)
	}
}
