package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// crdAPIVersion is the App Mesh Kubernetes controller's API group/version;
// documents carrying it are converted to the API form before apply.
const crdAPIVersion = "appmesh.k8s.aws/v1beta2"

// crdWarnings receives notes about CRD fields that have no API equivalent.
var crdWarnings io.Writer = os.Stderr

// crdObject is one appmesh.k8s.aws/v1beta2 custom resource.
type crdObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec map[string]any `json:"spec"`

	source string
	kind   appmesh.Kind
}

// isCRD reports whether the JSON document is an appmesh.k8s.aws custom
// resource (judged by its apiVersion).
func isCRD(j []byte) bool {
	var head struct {
		APIVersion string `json:"apiVersion"`
	}
	_ = json.Unmarshal(j, &head)
	return strings.HasPrefix(head.APIVersion, "appmesh.k8s.aws/")
}

// decodeCRD decodes a custom resource into a placeholder Document that
// convertCRDs later expands, once every document of the apply set is known.
func decodeCRD(source string, j []byte) (*Document, error) {
	o := &crdObject{source: source}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	if err := dec.Decode(o); err != nil {
		return nil, err
	}
	if o.APIVersion != crdAPIVersion {
		return nil, fmt.Errorf("apiVersion %q: only %s is supported", o.APIVersion, crdAPIVersion)
	}
	kinds := map[string]appmesh.Kind{
		"Mesh": appmesh.KindMesh, "VirtualNode": appmesh.KindVirtualNode,
		"VirtualService": appmesh.KindVirtualService, "VirtualRouter": appmesh.KindVirtualRouter,
		"VirtualGateway": appmesh.KindVirtualGateway, "GatewayRoute": appmesh.KindGatewayRoute,
	}
	k, ok := kinds[o.Kind]
	if !ok {
		return nil, fmt.Errorf("kind %q of %s: want one of Mesh, VirtualNode, VirtualService, VirtualRouter, VirtualGateway, GatewayRoute", o.Kind, crdAPIVersion)
	}
	o.kind = k
	if o.Metadata.Name == "" {
		return nil, fmt.Errorf("%s: metadata.name is required", o.Kind)
	}
	switch {
	case k == appmesh.KindMesh:
		o.Metadata.Namespace = "" // cluster-scoped
	case o.Metadata.Namespace == "":
		o.Metadata.Namespace = "default"
	}
	if o.Spec == nil {
		o.Spec = map[string]any{}
	}
	return &Document{Kind: o.Kind, Source: source, crd: o}, nil
}

// crdKey identifies a custom resource in the apply set.
type crdKey struct {
	kind            appmesh.Kind
	namespace, name string
}

// crdSet is the apply set's custom resources, for resolving references.
type crdSet struct {
	objs   map[crdKey]*crdObject
	meshes []*crdObject
	// apiMeshes are the API-form Mesh documents of the set.
	apiMeshes []string
}

// awsName is the resource's AWS name: spec.awsName, else the controller's
// default (Mesh: name; VirtualService: name.namespace; others:
// name_namespace).
func (o *crdObject) awsName() string {
	if s, ok := o.Spec["awsName"].(string); ok && s != "" {
		return s
	}
	switch o.kind {
	case appmesh.KindMesh:
		return o.Metadata.Name
	case appmesh.KindVirtualService:
		return o.Metadata.Name + "." + o.Metadata.Namespace
	}
	return o.Metadata.Name + "_" + o.Metadata.Namespace
}

// label names the object for messages: VirtualNode prod/blue.
func (o *crdObject) label() string {
	if o.kind == appmesh.KindMesh {
		return o.Kind + " " + o.Metadata.Name
	}
	return o.Kind + " " + o.Metadata.Namespace + "/" + o.Metadata.Name
}

// convertCRDs replaces every custom-resource placeholder of docs with the
// API-form documents it stands for (a VirtualRouter also yields one Route
// per spec.routes entry).
func convertCRDs(docs []*Document) ([]*Document, error) {
	set := &crdSet{objs: map[crdKey]*crdObject{}}
	found := false
	for _, d := range docs {
		if d.crd == nil {
			if d.ID.Kind == appmesh.KindMesh {
				set.apiMeshes = append(set.apiMeshes, d.MeshName)
			}
			continue
		}
		found = true
		o := d.crd
		key := crdKey{o.kind, o.Metadata.Namespace, o.Metadata.Name}
		if prev, ok := set.objs[key]; ok {
			return nil, fmt.Errorf("%s: %s is also defined at %s", o.source, o.label(), prev.source)
		}
		set.objs[key] = o
		if o.kind == appmesh.KindMesh {
			set.meshes = append(set.meshes, o)
		}
	}
	if !found {
		return docs, nil
	}
	var out []*Document
	for _, d := range docs {
		if d.crd == nil {
			out = append(out, d)
			continue
		}
		conv, err := set.convert(d.crd)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", d.crd.source, d.crd.label(), err)
		}
		for _, c := range conv {
			c.Source = d.crd.source
			if err := c.resolve(); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", c.Source, d.crd.label(), err)
			}
			if _, err := normalize(c.ID.Kind, c.Spec); err != nil {
				return nil, fmt.Errorf("%s: %s: converted spec of %s: %w", c.Source, d.crd.label(), label(c.ID), err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// meshName resolves spec.meshRef, or the apply set's only mesh.
func (s *crdSet) meshName(o *crdObject) (string, error) {
	if ref, ok := o.Spec["meshRef"].(map[string]any); ok {
		name, _ := ref["name"].(string)
		if name == "" {
			return "", fmt.Errorf("spec.meshRef.name is required")
		}
		if m, ok := s.objs[crdKey{appmesh.KindMesh, "", name}]; ok {
			return m.awsName(), nil
		}
		return name, nil
	}
	switch {
	case len(s.meshes) == 1:
		return s.meshes[0].awsName(), nil
	case len(s.meshes) == 0 && len(s.apiMeshes) == 1:
		return s.apiMeshes[0], nil
	}
	return "", fmt.Errorf("meshRef required: spec.meshRef is absent and the apply set has %d meshes", len(s.meshes)+len(s.apiMeshes))
}

// ref resolves a reference field pair (e.g. virtualNodeRef/virtualNodeARN)
// of m to the referenced resource's AWS name. The ref's namespace defaults
// to the referring object's; an ARN gives its last path segment.
func (s *crdSet) ref(o *crdObject, m map[string]any, field string, kind appmesh.Kind) (string, error) {
	base := lowerFirst(kind.String())
	refKey, arnKey := base+"Ref", base+"ARN"
	if arn, ok := m[arnKey].(string); ok && arn != "" {
		delete(m, arnKey)
		delete(m, refKey)
		return arn[strings.LastIndex(arn, "/")+1:], nil
	}
	r, ok := m[refKey].(map[string]any)
	if !ok {
		return "", fmt.Errorf("%s: %s or %s is required", field, refKey, arnKey)
	}
	delete(m, refKey)
	name, _ := r["name"].(string)
	ns, _ := r["namespace"].(string)
	if ns == "" {
		ns = o.Metadata.Namespace
	}
	if name == "" {
		return "", fmt.Errorf("%s.%s.name is required", field, refKey)
	}
	t, ok := s.objs[crdKey{kind, ns, name}]
	if !ok {
		return "", fmt.Errorf("%s.%s: %s %s/%s is not in the apply set", field, refKey, kind, ns, name)
	}
	return t.awsName(), nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// warn notes a dropped field.
func (o *crdObject) warn(format string, args ...any) {
	fmt.Fprintf(crdWarnings, "warning: %s: %s: %s\n", o.source, o.label(), fmt.Sprintf(format, args...))
}

// convert maps one custom resource to API-form documents.
func (s *crdSet) convert(o *crdObject) ([]*Document, error) {
	spec := deepCopy(o.Spec).(map[string]any)
	for _, k := range []string{"awsName", "meshRef", "namespaceSelector", "podSelector", "gatewayRouteSelector"} {
		delete(spec, k)
	}
	if _, ok := spec["backendGroups"]; ok {
		o.warn("spec.backendGroups has no App Mesh API equivalent and is ignored")
		delete(spec, "backendGroups")
	}
	name := o.awsName()
	d := &Document{Kind: o.kind.String()}
	if o.kind == appmesh.KindMesh {
		d.MeshName = name
		if v, ok := spec["meshServiceDiscovery"]; ok {
			spec["serviceDiscovery"] = v
			delete(spec, "meshServiceDiscovery")
		}
		if _, ok := spec["meshOwner"]; ok {
			o.warn("spec.meshOwner is ignored (no shared meshes)")
			delete(spec, "meshOwner")
		}
		return s.finish(d, spec, nil)
	}
	mesh, err := s.meshName(o)
	if err != nil {
		return nil, err
	}
	d.MeshName = mesh
	var extra []*Document
	switch o.kind {
	case appmesh.KindVirtualNode:
		d.VirtualNodeName = name
		backends, _ := spec["backends"].([]any)
		for i, b := range backends {
			bm, _ := b.(map[string]any)
			vs, ok := bm["virtualService"].(map[string]any)
			if !ok {
				continue
			}
			n, err := s.ref(o, vs, fmt.Sprintf("spec.backends[%d].virtualService", i), appmesh.KindVirtualService)
			if err != nil {
				return nil, err
			}
			vs["virtualServiceName"] = n
		}
	case appmesh.KindVirtualService:
		d.VirtualServiceName = name
		if p, ok := spec["provider"].(map[string]any); ok {
			if vn, ok := p["virtualNode"].(map[string]any); ok {
				n, err := s.ref(o, vn, "spec.provider.virtualNode", appmesh.KindVirtualNode)
				if err != nil {
					return nil, err
				}
				vn["virtualNodeName"] = n
			}
			if vr, ok := p["virtualRouter"].(map[string]any); ok {
				n, err := s.ref(o, vr, "spec.provider.virtualRouter", appmesh.KindVirtualRouter)
				if err != nil {
					return nil, err
				}
				vr["virtualRouterName"] = n
			}
		}
	case appmesh.KindVirtualRouter:
		d.VirtualRouterName = name
		routes, _ := spec["routes"].([]any)
		delete(spec, "routes")
		for i, r := range routes {
			rm, _ := r.(map[string]any)
			rn, _ := rm["name"].(string)
			if rn == "" {
				return nil, fmt.Errorf("spec.routes[%d].name is required", i)
			}
			delete(rm, "name")
			for _, proto := range []string{"httpRoute", "http2Route", "grpcRoute", "tcpRoute"} {
				pr, ok := rm[proto].(map[string]any)
				if !ok {
					continue
				}
				action, _ := pr["action"].(map[string]any)
				targets, _ := action["weightedTargets"].([]any)
				for j, t := range targets {
					tm, _ := t.(map[string]any)
					if tm == nil {
						continue
					}
					n, err := s.ref(o, tm, fmt.Sprintf("spec.routes[%d].%s.action.weightedTargets[%d]", i, proto, j), appmesh.KindVirtualNode)
					if err != nil {
						return nil, err
					}
					tm["virtualNode"] = n
				}
			}
			rd, err := s.finish(&Document{Kind: appmesh.KindRoute.String(), MeshName: mesh, VirtualRouterName: name, RouteName: rn}, rm, nil)
			if err != nil {
				return nil, err
			}
			extra = append(extra, rd...)
		}
	case appmesh.KindVirtualGateway:
		d.VirtualGatewayName = name
	case appmesh.KindGatewayRoute:
		d.GatewayRouteName = name
		gw, err := s.gateway(o, spec)
		if err != nil {
			return nil, err
		}
		d.VirtualGatewayName = gw
		for _, proto := range []string{"httpRoute", "http2Route", "grpcRoute"} {
			pr, ok := spec[proto].(map[string]any)
			if !ok {
				continue
			}
			action, _ := pr["action"].(map[string]any)
			target, _ := action["target"].(map[string]any)
			vs, ok := target["virtualService"].(map[string]any)
			if !ok {
				continue
			}
			n, err := s.ref(o, vs, "spec."+proto+".action.target.virtualService", appmesh.KindVirtualService)
			if err != nil {
				return nil, err
			}
			vs["virtualServiceName"] = n
		}
	}
	return s.finish(d, spec, extra)
}

// gateway resolves a GatewayRoute's virtualGatewayRef (set by the
// controller's webhook from selectors), else the apply set's only gateway.
func (s *crdSet) gateway(o *crdObject, spec map[string]any) (string, error) {
	if _, ok := spec["virtualGatewayRef"]; ok {
		return s.ref(o, spec, "spec", appmesh.KindVirtualGateway)
	}
	var gws []*crdObject
	for _, g := range s.objs {
		if g.kind == appmesh.KindVirtualGateway {
			gws = append(gws, g)
		}
	}
	if len(gws) != 1 {
		return "", fmt.Errorf("spec.virtualGatewayRef required: the apply set has %d VirtualGateways", len(gws))
	}
	return gws[0].awsName(), nil
}

// finish marshals spec into d and appends extra documents.
func (s *crdSet) finish(d *Document, spec map[string]any, extra []*Document) ([]*Document, error) {
	if len(spec) > 0 {
		b, err := json.Marshal(spec)
		if err != nil {
			return nil, err
		}
		d.Spec = b
	}
	return append([]*Document{d}, extra...), nil
}

// deepCopy copies a decoded JSON value.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}
