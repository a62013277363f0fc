package policy

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

// Partition is the ARN partition Trellis uses (as internal/apis/appmesh does).
const Partition = "aws"

// AppMeshARN returns the ARN of any App Mesh resource:
//
//	arn:aws:appmesh:<region>:<account>:mesh/<m>
//	...:mesh/<m>/virtualService/<name>   (virtualNode, virtualRouter, virtualGateway alike)
//	...:mesh/<m>/virtualRouter/<r>/route/<name>
//	...:mesh/<m>/virtualGateway/<g>/gatewayRoute/<name>
//
// It is appmesh.Identity.ARN, named here so callers building a Request need
// only this package.
func AppMeshARN(region, account string, id appmesh.Identity) string {
	return id.ARN(region, account)
}

// MeshARN returns arn:aws:appmesh:<region>:<account>:mesh/<mesh>.
func MeshARN(region, account, mesh string) string {
	return AppMeshARN(region, account, appmesh.Identity{Kind: appmesh.KindMesh, Mesh: mesh, Name: mesh})
}

// NamespaceARN returns Cloud Map's
// arn:aws:servicediscovery:<region>:<account>:namespace/<namespace id>.
func NamespaceARN(region, account, namespaceID string) string {
	return "arn:" + Partition + ":servicediscovery:" + region + ":" + account + ":namespace/" + namespaceID
}

// ServiceARN returns Cloud Map's
// arn:aws:servicediscovery:<region>:<account>:service/<service id>.
func ServiceARN(region, account, serviceID string) string {
	return "arn:" + Partition + ":servicediscovery:" + region + ":" + account + ":service/" + serviceID
}

// Target names the resource of one request, with the App Mesh and Cloud
// Map parameter names the request carries (URI or body). Only the fields the
// operation's ResourceType needs are read.
type Target struct {
	MeshName           string
	VirtualServiceName string
	VirtualNodeName    string
	VirtualRouterName  string
	RouteName          string
	VirtualGatewayName string
	GatewayRouteName   string
	// ResourceARN is the resourceArn (App Mesh) or ResourceARN (Cloud Map)
	// parameter of TagResource, UntagResource and ListTagsForResource.
	ResourceARN string
	NamespaceID string // Cloud Map NamespaceId
	ServiceID   string // Cloud Map ServiceId
}

// ResourceARN returns the Resource of a Request for op on t: an ARN, or "*"
// for actions without resource-level permissions (ListMeshes, ListNamespaces).
func (op Operation) ResourceARN(region, account string, t Target) string {
	id := appmesh.Identity{Mesh: t.MeshName}
	switch op.Resource {
	case ResourceMesh:
		return MeshARN(region, account, t.MeshName)
	case ResourceVirtualService:
		id.Kind, id.Name = appmesh.KindVirtualService, t.VirtualServiceName
	case ResourceVirtualNode:
		id.Kind, id.Name = appmesh.KindVirtualNode, t.VirtualNodeName
	case ResourceVirtualRouter:
		id.Kind, id.Name = appmesh.KindVirtualRouter, t.VirtualRouterName
	case ResourceRoute:
		id.Kind, id.Parent, id.Name = appmesh.KindRoute, t.VirtualRouterName, t.RouteName
	case ResourceVirtualGateway:
		id.Kind, id.Name = appmesh.KindVirtualGateway, t.VirtualGatewayName
	case ResourceGatewayRoute:
		id.Kind, id.Parent, id.Name = appmesh.KindGatewayRoute, t.VirtualGatewayName, t.GatewayRouteName
	case ResourceNamespace:
		return NamespaceARN(region, account, t.NamespaceID)
	case ResourceService:
		return ServiceARN(region, account, t.ServiceID)
	case ResourceFromARN:
		if t.ResourceARN == "" {
			return "*"
		}
		return t.ResourceARN
	default:
		return "*"
	}
	return AppMeshARN(region, account, id)
}
