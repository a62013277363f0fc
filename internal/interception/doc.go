// Package interception builds and applies App Mesh's traffic-interception
// rules: the nat-table chains APPMESH_INGRESS and APPMESH_EGRESS that
// App Mesh's proxy-init (aws-appmesh-proxy-route-manager, the EC2
// envoy-networking.sh script, the ECS CNI plugin) installs so an
// unmodified application's TCP traffic goes through Envoy's capture
// listeners (docs/envoy.md, interception "iptables").
//
// The rule set, per address family:
//
//	-t nat -N APPMESH_INGRESS                       (only with AppPorts)
//	-t nat -A APPMESH_INGRESS -p tcp -m multiport --dports <AppPorts> -j REDIRECT --to-port <IngressPort>
//	-t nat -A PREROUTING -p tcp -m addrtype ! --src-type LOCAL -j APPMESH_INGRESS
//	-t nat -N APPMESH_EGRESS
//	-t nat -A APPMESH_EGRESS -m owner --uid-owner <uid> -j RETURN      (each ignored UID)
//	-t nat -A APPMESH_EGRESS -m owner --gid-owner <gid> -j RETURN      (each ignored GID)
//	-t nat -A APPMESH_EGRESS -p tcp -m multiport --dports <EgressIgnoredPorts> -j RETURN
//	-t nat -A APPMESH_EGRESS -p tcp -d <EgressIgnoredIPs> -j RETURN
//	-t nat -A APPMESH_EGRESS -p tcp -j REDIRECT --to <EgressPort>
//	-t nat -A OUTPUT -p tcp -m addrtype ! --dst-type LOCAL -j APPMESH_EGRESS
//
// Only TCP is captured. Loopback and other local destinations are never
// redirected (the addrtype matches), so the app→Envoy and Envoy→app hops
// do not loop; Envoy's own upstream connections are recognised by its
// UID/GID. Rules is pure and golden-tested; Apply and Remove run the
// commands through a Runner.
package interception
