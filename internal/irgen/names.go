package irgen

import "fmt"

// App Mesh resource naming (§3.1). Envoy stats are keyed by these names,
// so dashboards built for App Mesh keep working; keep them exact.

// NodeID is the Envoy node id of a proxy: mesh/<mesh>/<kind>/<name>.
func NodeID(n NodeRef) string {
	return fmt.Sprintf("mesh/%s/%s/%s", n.Mesh, n.Kind, n.Name)
}

// IngressListenerName is lds_ingress_<addr>_<port>.
func IngressListenerName(addr string, port uint32) string {
	return fmt.Sprintf("lds_ingress_%s_%d", addr, port)
}

// EgressListenerName is lds_egress_<addr>_<port>.
func EgressListenerName(addr string, port uint32) string {
	return fmt.Sprintf("lds_egress_%s_%d", addr, port)
}

// IngressClusterName is the local app cluster of a virtual-node listener:
// cds_ingress_<mesh>_<vn>_<proto>_<port>.
func IngressClusterName(mesh, vn, proto string, port uint32) string {
	return fmt.Sprintf("cds_ingress_%s_%s_%s_%d", mesh, vn, proto, port)
}

// EgressClusterName is a backend virtual node's listener as seen by callers:
// cds_egress_<mesh>_<vn>_<proto>_<port>.
func EgressClusterName(mesh, vn, proto string, port uint32) string {
	return fmt.Sprintf("cds_egress_%s_%s_%s_%d", mesh, vn, proto, port)
}

// AllowAllClusterName is the ALLOW_ALL pass-through cluster:
// cds_egress_<mesh>_mesh-allow-all.
func AllowAllClusterName(mesh string) string {
	return fmt.Sprintf("cds_egress_%s_mesh-allow-all", mesh)
}

// AWSAPIClusterName is App Mesh's pass-through cluster for AWS APIs,
// cds_egress_<mesh>_amazonaws.
func AWSAPIClusterName(mesh string) string {
	return fmt.Sprintf("cds_egress_%s_amazonaws", mesh)
}

// IngressRouteConfigName is rds_ingress_<proto>_<port>.
func IngressRouteConfigName(proto string, port uint32) string {
	return fmt.Sprintf("rds_ingress_%s_%d", proto, port)
}

// EgressRouteConfigName is rds_egress_<proto>_<port>.
func EgressRouteConfigName(proto string, port uint32) string {
	return fmt.Sprintf("rds_egress_%s_%d", proto, port)
}

// Names irgen gives to things App Mesh never showed (not part of stats).
const (
	// ingressVirtualHost names the single vhost (domains ["*"]) of an
	// ingress route config, and its single route.
	ingressVirtualHost = "ingress"
	// allowAllVirtualHost names the catch-all vhost of ALLOW_ALL meshes.
	allowAllVirtualHost = "mesh-allow-all"
	// defaultRouteName names the single route of a virtual service
	// provided by a virtual node.
	defaultRouteName = "default"
)

// chainName names a filter chain: <direction>_<proto>_<port>[_<variant>].
func chainName(dir, proto string, port uint32, variant string) string {
	if variant == "" {
		return fmt.Sprintf("%s_%s_%d", dir, proto, port)
	}
	return fmt.Sprintf("%s_%s_%d_%s", dir, proto, port, variant)
}

// vhostDomains are the Host values that select a virtual service on a
// port: the bare name and name:port (§3.3).
func vhostDomains(vs string, port uint32) []string {
	return []string{vs, fmt.Sprintf("%s:%d", vs, port)}
}
