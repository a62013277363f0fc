package routes

import (
	"net/http"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// Prefix starts every App Mesh URI (the API version, 2019-01-25).
const Prefix = "/v20190125"

// CloudMapTargetPrefix prefixes the X-Amz-Target header of every Cloud Map
// call.
const CloudMapTargetPrefix = "Route53AutoNaming_v20170314."

// Verb is what an App Mesh operation does.
type Verb int

// The verbs: the five per resource kind, then the three tagging ones.
const (
	List Verb = iota + 1
	Create
	Describe
	Update
	Delete
	ListTags
	Tag
	Untag
)

// Route is one App Mesh operation as the wire carries it.
type Route struct {
	// Name is the API operation: "CreateVirtualNode".
	Name string
	// Method is the HTTP method the SDK sends.
	Method string
	// Pattern is the URI as an http.ServeMux pattern path, wildcards named
	// as in the SDK: "/v20190125/meshes/{meshName}/virtualNodes".
	Pattern string
	// Kind is the resource kind acted on; 0 for the tagging operations.
	Kind appmesh.Kind
	// Verb is what the operation does.
	Verb Verb
}

// AppMesh returns the 38 App Mesh operations, in a new slice the caller
// may keep.
func AppMesh() []Route {
	const m = Prefix + "/meshes"
	var out []Route
	for _, k := range []struct {
		kind       appmesh.Kind
		collection string
	}{
		{appmesh.KindMesh, m},
		{appmesh.KindVirtualService, m + "/{meshName}/virtualServices"},
		{appmesh.KindVirtualNode, m + "/{meshName}/virtualNodes"},
		{appmesh.KindVirtualRouter, m + "/{meshName}/virtualRouters"},
		{appmesh.KindRoute, m + "/{meshName}/virtualRouter/{virtualRouterName}/routes"},
		{appmesh.KindVirtualGateway, m + "/{meshName}/virtualGateways"},
		{appmesh.KindGatewayRoute, m + "/{meshName}/virtualGateway/{virtualGatewayName}/gatewayRoutes"},
	} {
		item := k.collection + "/{" + k.kind.NameKey() + "}"
		list := k.kind.ListKey()
		name := k.kind.String()
		out = append(out,
			Route{"List" + upperFirst(list), http.MethodGet, k.collection, k.kind, List},
			Route{"Create" + name, http.MethodPut, k.collection, k.kind, Create},
			Route{"Describe" + name, http.MethodGet, item, k.kind, Describe},
			Route{"Update" + name, http.MethodPut, item, k.kind, Update},
			Route{"Delete" + name, http.MethodDelete, item, k.kind, Delete})
	}
	return append(out,
		Route{"ListTagsForResource", http.MethodGet, Prefix + "/tags", 0, ListTags},
		Route{"TagResource", http.MethodPut, Prefix + "/tag", 0, Tag},
		Route{"UntagResource", http.MethodPut, Prefix + "/untag", 0, Untag})
}

// CloudMap returns the names of the 30 Cloud Map operations, in a new
// slice the caller may keep.
func CloudMap() []string {
	return []string{
		"CreateHttpNamespace", "CreatePrivateDnsNamespace", "CreatePublicDnsNamespace",
		"GetNamespace", "ListNamespaces", "DeleteNamespace",
		"UpdateHttpNamespace", "UpdatePrivateDnsNamespace", "UpdatePublicDnsNamespace",
		"CreateService", "GetService", "ListServices", "UpdateService", "DeleteService",
		"GetServiceAttributes", "UpdateServiceAttributes", "DeleteServiceAttributes",
		"RegisterInstance", "DeregisterInstance", "GetInstance", "ListInstances",
		"GetInstancesHealthStatus", "UpdateInstanceCustomHealthStatus",
		"DiscoverInstances", "DiscoverInstancesRevision",
		"GetOperation", "ListOperations",
		"ListTagsForResource", "TagResource", "UntagResource",
	}
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
