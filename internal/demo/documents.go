package demo

import "fmt"

// MeshDocuments is the color mesh in `trellis apply` form, with the apps'
// real loopback addresses as their DNS hostnames (examples/color/mesh.yaml
// is the same mesh with readable hostnames).
func MeshDocuments(blueIP, greenIP string, blue, green int32) string {
	return fmt.Sprintf(`kind: Mesh
meshName: color
spec: {}
tags: [{key: trellis.io/mtls, value: STRICT}]
---
kind: VirtualNode
meshName: color
virtualNodeName: blue
spec:
  listeners:
    - portMapping: {port: %[5]d, protocol: http}
  serviceDiscovery:
    dns: {hostname: %[1]q}
---
kind: VirtualNode
meshName: color
virtualNodeName: green
spec:
  listeners:
    - portMapping: {port: %[5]d, protocol: http}
  serviceDiscovery:
    dns: {hostname: %[2]q}
---
kind: VirtualRouter
meshName: color
virtualRouterName: color-router
spec:
  listeners:
    - portMapping: {port: %[5]d, protocol: http}
---
%[3]s---
kind: VirtualService
meshName: color
virtualServiceName: color.local
spec:
  provider:
    virtualRouter: {virtualRouterName: color-router}
---
kind: VirtualGateway
meshName: color
virtualGatewayName: ingress
spec:
  listeners:
    - portMapping: {port: %[4]d, protocol: http}
---
kind: GatewayRoute
meshName: color
virtualGatewayName: ingress
gatewayRouteName: color
spec:
  httpRoute:
    match: {prefix: /color}
    action:
      target:
        virtualService: {virtualServiceName: color.local}
`, blueIP, greenIP, routeDocument(blue, green), gatewayPort, nodePort)
}

// routeDocument is color-route with the given weights.
func routeDocument(blue, green int32) string {
	return fmt.Sprintf(`kind: Route
meshName: color
virtualRouterName: color-router
routeName: color-route
spec:
  httpRoute:
    match: {prefix: /}
    action:
      weightedTargets:
        - {virtualNode: blue, weight: %d}
        - {virtualNode: green, weight: %d}
`, blue, green)
}
