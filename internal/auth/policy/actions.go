package policy

import "strings"

// ResourceType is the resource an action is authorized against, after
// AWS's Service Authorization Reference ("Actions, resources, and condition
// keys for AWS App Mesh" and "... for AWS Cloud Map"): the required resource
// type of each action.
type ResourceType int

// The resource types.
const (
	ResourceNone           ResourceType = iota // no resource-level permissions: Resource "*"
	ResourceMesh                               // mesh/<m>
	ResourceVirtualService                     // mesh/<m>/virtualService/<name>
	ResourceVirtualNode                        // mesh/<m>/virtualNode/<name>
	ResourceVirtualRouter                      // mesh/<m>/virtualRouter/<name>
	ResourceRoute                              // mesh/<m>/virtualRouter/<r>/route/<name>
	ResourceVirtualGateway                     // mesh/<m>/virtualGateway/<name>
	ResourceGatewayRoute                       // mesh/<m>/virtualGateway/<g>/gatewayRoute/<name>
	ResourceNamespace                          // servicediscovery namespace/<id>
	ResourceService                            // servicediscovery service/<id>
	ResourceFromARN                            // the request's resourceArn (tagging operations)
)

func (r ResourceType) String() string {
	names := [...]string{"*", "mesh", "virtualService", "virtualNode", "virtualRouter", "route",
		"virtualGateway", "gatewayRoute", "namespace", "service", "resourceArn"}
	if int(r) >= 0 && int(r) < len(names) {
		return names[r]
	}
	return "unknown"
}

// CloudTrailType returns the type of a CloudTrail resources entry for an
// ARN of this resource type (AWS::AppMesh::Route), or "" for ResourceNone
// and ResourceFromARN.
func (r ResourceType) CloudTrailType() string {
	switch r {
	case ResourceNone, ResourceFromARN:
		return ""
	case ResourceNamespace:
		return "AWS::ServiceDiscovery::Namespace"
	case ResourceService:
		return "AWS::ServiceDiscovery::Service"
	}
	s := r.String()
	return "AWS::AppMesh::" + strings.ToUpper(s[:1]) + s[1:]
}

// Operation is one API operation and how it is authorized.
type Operation struct {
	Service  string       // "appmesh" or "servicediscovery" (the IAM service prefix)
	Name     string       // the API operation, e.g. "CreateRoute"
	Action   string       // the IAM action, e.g. "appmesh:CreateRoute"
	Resource ResourceType // what Request.Resource names
	ReadOnly bool         // CloudTrail's readOnly: Describe/List/Get/Discover
	Tagging  bool         // the request may carry tags (aws:RequestTag/…, aws:TagKeys apply)
}

// EventSource is CloudTrail's eventSource for the operation:
// appmesh.amazonaws.com or servicediscovery.amazonaws.com.
func (o Operation) EventSource() string { return o.Service + ".amazonaws.com" }

// op builds a table row; the action is service:name, as for every App Mesh
// and Cloud Map operation.
func op(service, name string, res ResourceType, readOnly, tagging bool) Operation {
	return Operation{Service: service, Name: name, Action: service + ":" + name, Resource: res, ReadOnly: readOnly, Tagging: tagging}
}

// Operations returns the table of every App Mesh (38) and servicediscovery
// (30) operation, in a new slice the caller may keep.
func Operations() []Operation {
	const am, sd = "appmesh", "servicediscovery"
	const ro, rw, tags, none = true, false, true, false
	return []Operation{
		op(am, "ListMeshes", ResourceNone, ro, none),
		op(am, "CreateMesh", ResourceMesh, rw, tags),
		op(am, "DescribeMesh", ResourceMesh, ro, none),
		op(am, "UpdateMesh", ResourceMesh, rw, none),
		op(am, "DeleteMesh", ResourceMesh, rw, none),
		op(am, "ListVirtualServices", ResourceMesh, ro, none),
		op(am, "CreateVirtualService", ResourceVirtualService, rw, tags),
		op(am, "DescribeVirtualService", ResourceVirtualService, ro, none),
		op(am, "UpdateVirtualService", ResourceVirtualService, rw, none),
		op(am, "DeleteVirtualService", ResourceVirtualService, rw, none),
		op(am, "ListVirtualNodes", ResourceMesh, ro, none),
		op(am, "CreateVirtualNode", ResourceVirtualNode, rw, tags),
		op(am, "DescribeVirtualNode", ResourceVirtualNode, ro, none),
		op(am, "UpdateVirtualNode", ResourceVirtualNode, rw, none),
		op(am, "DeleteVirtualNode", ResourceVirtualNode, rw, none),
		op(am, "ListVirtualRouters", ResourceMesh, ro, none),
		op(am, "CreateVirtualRouter", ResourceVirtualRouter, rw, tags),
		op(am, "DescribeVirtualRouter", ResourceVirtualRouter, ro, none),
		op(am, "UpdateVirtualRouter", ResourceVirtualRouter, rw, none),
		op(am, "DeleteVirtualRouter", ResourceVirtualRouter, rw, none),
		op(am, "ListRoutes", ResourceVirtualRouter, ro, none),
		op(am, "CreateRoute", ResourceRoute, rw, tags),
		op(am, "DescribeRoute", ResourceRoute, ro, none),
		op(am, "UpdateRoute", ResourceRoute, rw, none),
		op(am, "DeleteRoute", ResourceRoute, rw, none),
		op(am, "ListVirtualGateways", ResourceMesh, ro, none),
		op(am, "CreateVirtualGateway", ResourceVirtualGateway, rw, tags),
		op(am, "DescribeVirtualGateway", ResourceVirtualGateway, ro, none),
		op(am, "UpdateVirtualGateway", ResourceVirtualGateway, rw, none),
		op(am, "DeleteVirtualGateway", ResourceVirtualGateway, rw, none),
		op(am, "ListGatewayRoutes", ResourceVirtualGateway, ro, none),
		op(am, "CreateGatewayRoute", ResourceGatewayRoute, rw, tags),
		op(am, "DescribeGatewayRoute", ResourceGatewayRoute, ro, none),
		op(am, "UpdateGatewayRoute", ResourceGatewayRoute, rw, none),
		op(am, "DeleteGatewayRoute", ResourceGatewayRoute, rw, none),
		op(am, "ListTagsForResource", ResourceFromARN, ro, none),
		op(am, "TagResource", ResourceFromARN, rw, tags),
		op(am, "UntagResource", ResourceFromARN, rw, tags),

		op(sd, "CreateHttpNamespace", ResourceNone, rw, tags),
		op(sd, "CreatePrivateDnsNamespace", ResourceNone, rw, tags),
		op(sd, "CreatePublicDnsNamespace", ResourceNone, rw, tags),
		op(sd, "GetNamespace", ResourceNamespace, ro, none),
		op(sd, "ListNamespaces", ResourceNone, ro, none),
		op(sd, "UpdateHttpNamespace", ResourceNamespace, rw, none),
		op(sd, "UpdatePrivateDnsNamespace", ResourceNamespace, rw, none),
		op(sd, "UpdatePublicDnsNamespace", ResourceNamespace, rw, none),
		op(sd, "DeleteNamespace", ResourceNamespace, rw, none),
		op(sd, "CreateService", ResourceNamespace, rw, tags),
		op(sd, "GetService", ResourceService, ro, none),
		op(sd, "ListServices", ResourceNone, ro, none),
		op(sd, "UpdateService", ResourceService, rw, none),
		op(sd, "DeleteService", ResourceService, rw, none),
		op(sd, "GetServiceAttributes", ResourceService, ro, none),
		op(sd, "UpdateServiceAttributes", ResourceService, rw, none),
		op(sd, "DeleteServiceAttributes", ResourceService, rw, none),
		op(sd, "RegisterInstance", ResourceService, rw, none),
		op(sd, "DeregisterInstance", ResourceService, rw, none),
		op(sd, "GetInstance", ResourceService, ro, none),
		op(sd, "ListInstances", ResourceService, ro, none),
		op(sd, "GetInstancesHealthStatus", ResourceService, ro, none),
		op(sd, "UpdateInstanceCustomHealthStatus", ResourceService, rw, none),
		op(sd, "DiscoverInstances", ResourceNone, ro, none),
		op(sd, "DiscoverInstancesRevision", ResourceNone, ro, none),
		op(sd, "GetOperation", ResourceNone, ro, none),
		op(sd, "ListOperations", ResourceNone, ro, none),
		op(sd, "ListTagsForResource", ResourceFromARN, ro, none),
		op(sd, "TagResource", ResourceFromARN, rw, tags),
		op(sd, "UntagResource", ResourceFromARN, rw, tags),
	}
}

// Table indexes Operations by service and operation name. Its owner (the
// authorization middleware) builds it once with NewTable; it is immutable
// afterwards and safe for concurrent use.
type Table struct {
	byKey map[string]Operation
}

// NewTable indexes Operations().
func NewTable() *Table {
	ops := Operations()
	t := &Table{byKey: make(map[string]Operation, len(ops))}
	for _, o := range ops {
		t.byKey[o.Service+":"+o.Name] = o
	}
	return t
}

// Lookup finds an operation, e.g. Lookup("appmesh", "UpdateRoute").
func (t *Table) Lookup(service, name string) (Operation, bool) {
	o, ok := t.byKey[service+":"+name]
	return o, ok
}
