package auth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/apiserver/routes"
	"github.com/trellis-mesh/trellis/internal/auth/policy"
)

// SigV4 service names, one per API on the port.
const (
	ServiceAppMesh          = "appmesh"
	ServiceServiceDiscovery = "servicediscovery"
	ServiceTrellis          = "trellis"
)

// Operation is what a request asks to do, in IAM's terms.
type Operation struct {
	// Service is the SigV4 service the request must be signed for.
	Service string
	// Name is the API operation (CreateMesh, RegisterInstance, CreateAccessKey).
	Name string
	// Action is the IAM action: "appmesh:CreateMesh".
	Action string
	// Resource is the ARN acted on, or "*".
	Resource string
	// EventSource is CloudTrail's eventSource (appmesh.amazonaws.com).
	EventSource string
	// ReadOnly is true for Describe/List/Get calls.
	ReadOnly bool
}

// Classifier names the operation of a request; body is the request body
// (already read). It knows App Mesh's REST routes, Cloud Map's X-Amz-Target
// and the admin API's paths.
type Classifier struct {
	Region, AccountID string
	// CloudMap, when set, names Cloud Map operations' resources (namespace
	// and service ARNs from the body); without it they are "*". It is the
	// table of every operation, and also gives App Mesh actions' names.
	CloudMap *policy.Table
	// Routes is the App Mesh API's operation table, which the App Mesh
	// requests are matched against (the API serves and labels its metrics
	// with the same table). Nil builds one on every App Mesh request.
	Routes *routes.Table
}

// Classify returns the request's operation.
func (c Classifier) Classify(r *http.Request, body []byte) Operation {
	if o, ok := caOperation(r); ok {
		return o
	}
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("X-Amz-Target"), routes.CloudMapTargetPrefix):
		name := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), routes.CloudMapTargetPrefix)
		return op(ServiceServiceDiscovery, name, c.cloudMapResource(name, body), "servicediscovery.amazonaws.com")
	case strings.HasPrefix(r.URL.Path, AdminPathPrefix):
		return op(ServiceTrellis, strings.TrimPrefix(r.URL.Path, AdminPathPrefix), "*", "trellis.amazonaws.com")
	case strings.HasPrefix(r.URL.Path, "/debug/"):
		return op(ServiceTrellis, "Debug", "*", "trellis.amazonaws.com")
	case r.URL.Path == "/metrics":
		return op(ServiceTrellis, "GetMetrics", "*", "trellis.amazonaws.com")
	case strings.HasPrefix(r.URL.Path, "/v1/telemetry/"):
		return op(ServiceTrellis, "GetTelemetry", "*", "trellis.amazonaws.com")
	case r.URL.Path == "/v1/proxies":
		return op(ServiceTrellis, "GetProxies", "*", "trellis.amazonaws.com")
	case r.URL.Path == "/admin/backup":
		return op(ServiceTrellis, "GetBackup", "*", "trellis.amazonaws.com")
	case strings.HasPrefix(r.URL.Path, acmPathPrefix):
		return acmOperation(r, body)
	case r.URL.Path == "/trellis/v1/history":
		return op(ServiceTrellis, "GetHistory", "*", "trellis.amazonaws.com")
	case r.URL.Path == "/trellis/v1/events":
		return op(ServiceTrellis, "GetEvents", "*", "trellis.amazonaws.com")
	case r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/"):
		return op(ServiceTrellis, "GetConsole", "*", "trellis.amazonaws.com")
	}
	return c.appMesh(r, body)
}

func op(service, name, resource, source string) Operation {
	return Operation{Service: service, Name: name, Action: service + ":" + name, Resource: resource, EventSource: source, ReadOnly: readOnly(name)}
}

func readOnly(name string) bool {
	return strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Get") ||
		strings.HasPrefix(name, "Discover") || name == "Debug"
}

// appMeshAction is "appmesh:" + name, from the operations table when the
// classifier has one (no allocation per request).
func (c Classifier) appMeshAction(name string) string {
	if c.CloudMap != nil {
		if o, ok := c.CloudMap.Lookup(ServiceAppMesh, name); ok {
			return o.Action
		}
	}
	return ServiceAppMesh + ":" + name
}

// appMesh maps the 38 App Mesh REST routes of the routes table to
// operation names and ARNs. Other requests are "appmesh:Unknown" on "*"
// (the API answers 404).
func (c Classifier) appMesh(r *http.Request, body []byte) Operation {
	t := c.Routes
	if t == nil {
		t = routes.NewTable()
	}
	var segs [8]string // App Mesh paths have at most 7 segments; longer ones spill
	route, p, ok := t.Match(r.Method, splitPath(segs[:0], r.URL.EscapedPath()))
	if !ok {
		return op(ServiceAppMesh, "Unknown", "*", "appmesh.amazonaws.com")
	}
	return Operation{Service: ServiceAppMesh, Name: route.Name, Action: c.appMeshAction(route.Name),
		Resource: c.appMeshResource(r, route, p, body), EventSource: "appmesh.amazonaws.com", ReadOnly: readOnly(route.Name)}
}

// appMeshResource is the ARN IAM authorizes route on: the resource for
// item operations and creates (named in the body), the parent for lists,
// the resourceArn query parameter for tagging.
func (c Classifier) appMeshResource(r *http.Request, route routes.Route, p routes.Params, body []byte) string {
	id := appmesh.Identity{Kind: route.Kind, Mesh: p.Mesh, Parent: p.Parent, Name: p.Name}
	switch route.Verb {
	case routes.ListTags, routes.Tag, routes.Untag:
		return or(r.URL.Query().Get("resourceArn"), "*")
	case routes.List:
		return c.listResource(route.Kind, id)
	case routes.Create:
		id.Name = bodyName(body, route.Kind.NameKey())
		if route.Kind == appmesh.KindMesh {
			id.Mesh = id.Name
		}
	}
	return id.ARN(c.Region, c.AccountID)
}

// cloudMapResource is the namespace or service ARN a Cloud Map call acts on.
func (c Classifier) cloudMapResource(name string, body []byte) string {
	if c.CloudMap == nil {
		return "*"
	}
	o, ok := c.CloudMap.Lookup(ServiceServiceDiscovery, name)
	if !ok {
		return "*"
	}
	t, err := policy.CloudMapTarget(o, body)
	if err != nil {
		return "*"
	}
	arn := o.ResourceARN(c.Region, c.AccountID, t)
	if strings.HasSuffix(arn, "/") { // an identifier the body lacked
		return "*"
	}
	return arn
}

// listResource is the ARN IAM authorizes a List on: the mesh for the
// mesh's children, the router or gateway for routes, "*" for ListMeshes.
func (c Classifier) listResource(kind appmesh.Kind, id appmesh.Identity) string {
	if kind == appmesh.KindMesh {
		return "*"
	}
	parent := appmesh.Identity{Kind: appmesh.KindMesh, Mesh: id.Mesh, Name: id.Mesh}
	if pk := kind.Parent(); pk != 0 {
		parent = appmesh.Identity{Kind: pk, Mesh: id.Mesh, Name: id.Parent}
	}
	return parent.ARN(c.Region, c.AccountID)
}

// splitPath appends the unescaped segments of an escaped path to out.
func splitPath(out []string, escaped string) []string {
	trimmed := strings.Trim(escaped, "/")
	for s := range strings.SplitSeq(trimmed, "/") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		out = append(out, s)
	}
	return out
}

// bodyName reads the created resource's name from a Create body.
func bodyName(body []byte, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var s string
	_ = json.Unmarshal(m[key], &s)
	return s
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
