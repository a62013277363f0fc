package validation

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

// virtualRouterSpec checks a VirtualRouterSpec: every listener needs a valid
// port mapping, and no two listeners may share a port. The model sets no
// limit on the number of listeners.
func (c *collector) virtualRouterSpec(p path, s *appmesh.VirtualRouterSpec) {
	lp := p.field("listeners")
	ports := make([]int32, len(s.Listeners))
	for i, l := range s.Listeners {
		ports[i], _ = c.portMapping(lp.index(i).field("portMapping"), l.PortMapping, portProtocols)
	}
	c.uniquePorts(lp, ports)
}
