package auth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
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
	// and service ARNs from the body); without it they are "*".
	CloudMap *policy.Table
}

// Classify returns the request's operation.
func (c Classifier) Classify(r *http.Request, body []byte) Operation {
	if o, ok := caOperation(r); ok {
		return o
	}
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("X-Amz-Target"), "Route53AutoNaming_v20170314."):
		name := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Route53AutoNaming_v20170314.")
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
	ro := strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Get") ||
		strings.HasPrefix(name, "Discover") || name == "Debug"
	return Operation{Service: service, Name: name, Action: service + ":" + name, Resource: resource, EventSource: source, ReadOnly: ro}
}

// appMesh maps the 38 App Mesh REST routes to operation names and ARNs.
// Unknown routes are "appmesh:Unknown" on "*" (the API answers 404).
func (c Classifier) appMesh(r *http.Request, body []byte) Operation {
	segs := splitPath(r.URL.EscapedPath())
	if len(segs) < 2 || segs[0] != "v20190125" {
		return op(ServiceAppMesh, "Unknown", "*", "appmesh.amazonaws.com")
	}
	segs = segs[1:]
	if name := tagOp(segs[0]); len(segs) == 1 && name != "" {
		return op(ServiceAppMesh, name, or(r.URL.Query().Get("resourceArn"), "*"), "appmesh.amazonaws.com")
	}
	kind, id, item, ok := routeOf(segs)
	if !ok {
		return op(ServiceAppMesh, "Unknown", "*", "appmesh.amazonaws.com")
	}
	create := !item && r.Method == http.MethodPut
	if create {
		id.Name = bodyName(body, kind.NameKey())
		if kind == appmesh.KindMesh {
			id.Mesh = id.Name
		}
		item = true
	}
	var name, resource string
	switch {
	case !item:
		name = "List" + strings.ToUpper(kind.ListKey()[:1]) + kind.ListKey()[1:]
		resource = c.listResource(kind, id)
	default:
		verb := map[string]string{http.MethodGet: "Describe", http.MethodPut: "Update", http.MethodDelete: "Delete"}[r.Method]
		if create {
			verb = "Create"
		}
		name = verb + kind.String()
		resource = id.ARN(c.Region, c.AccountID)
	}
	return op(ServiceAppMesh, name, resource, "appmesh.amazonaws.com")
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

// tagOp names the tagging operation of a /v20190125/<seg> URI, or "".
func tagOp(seg string) string {
	switch seg {
	case "tags":
		return "ListTagsForResource"
	case "tag":
		return "TagResource"
	case "untag":
		return "UntagResource"
	}
	return ""
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

// routeOf reads meshes[/M[/list[/N]]] or meshes/M/parentSeg/P/list[/N].
func routeOf(segs []string) (kind appmesh.Kind, id appmesh.Identity, item, ok bool) {
	if segs[0] != "meshes" {
		return 0, id, false, false
	}
	switch len(segs) {
	case 1, 2:
		id = appmesh.Identity{Kind: appmesh.KindMesh}
		if len(segs) == 2 {
			id.Mesh, id.Name = segs[1], segs[1]
		}
		return appmesh.KindMesh, id, len(segs) == 2, true
	}
	id.Mesh = segs[1]
	rest := segs[2:]
	for _, k := range appmesh.Kinds {
		if pk := k.Parent(); pk != 0 {
			if len(rest) >= 3 && rest[0] == pk.ARNSegment() && rest[2] == k.ListKey() && len(rest) <= 4 {
				id.Kind, id.Parent = k, rest[1]
				if len(rest) == 4 {
					id.Name = rest[3]
				}
				return k, id, len(rest) == 4, true
			}
		} else if k != appmesh.KindMesh && rest[0] == k.ListKey() && len(rest) <= 2 {
			id.Kind = k
			if len(rest) == 2 {
				id.Name = rest[1]
			}
			return k, id, len(rest) == 2, true
		}
	}
	return 0, id, false, false
}

func splitPath(escaped string) []string {
	trimmed := strings.Trim(escaped, "/")
	out := make([]string, 0, strings.Count(trimmed, "/")+1)
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
