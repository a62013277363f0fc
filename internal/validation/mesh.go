package validation

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

// egressFilterTypes are the mesh egress filter types.
var egressFilterTypes = []string{appmesh.EgressAllowAll, appmesh.EgressDropAll}

// meshSpec checks a MeshSpec. Both members are optional (an absent egress
// filter means DROP_ALL), but an egress filter needs its type.
func (c *collector) meshSpec(p path, s *appmesh.MeshSpec) {
	if s.EgressFilter != nil {
		c.enum(p.field("egressFilter").field("type"), s.EgressFilter.Type, true, egressFilterTypes)
	}
	if s.ServiceDiscovery != nil {
		c.enum(p.field("serviceDiscovery").field("ipPreference"), s.ServiceDiscovery.IpPreference, false, appmesh.IPPreferences)
	}
}
