package appmesh

import (
	"encoding/json"
)

// Resource is one App Mesh resource of any kind as Trellis keeps it: its
// identity, its spec as canonical JSON (decode it with Kind.NewSpec), its
// metadata, status and tags. The server stores it; meshview reads it.
type Resource struct {
	Kind     Kind             `json:"kind"`
	Mesh     string           `json:"mesh"`
	Parent   string           `json:"parent,omitempty"`
	Name     string           `json:"name"`
	Spec     json.RawMessage  `json:"spec"`
	Metadata ResourceMetadata `json:"metadata"`
	Status   string           `json:"status"`
	Tags     []TagRef         `json:"tags,omitempty"`
}

// Identity returns the resource's identity.
func (r *Resource) Identity() Identity {
	return Identity{Kind: r.Kind, Mesh: r.Mesh, Parent: r.Parent, Name: r.Name}
}

// DecodeSpec decodes the spec into the kind's Go type (*VirtualNodeSpec ...).
func (r *Resource) DecodeSpec() (any, error) {
	s := r.Kind.NewSpec()
	if err := json.Unmarshal(r.Spec, s); err != nil {
		return nil, err
	}
	return s, nil
}

// MarshalData renders the resource as the API's bare <Kind>Data object:
// names, metadata, spec and status.
func (r *Resource) MarshalData() ([]byte, error) {
	m := r.names()
	m["metadata"] = r.Metadata
	spec := r.Spec
	if len(spec) == 0 {
		spec = json.RawMessage("{}")
	}
	m["spec"] = spec
	m["status"] = ResourceStatus{Status: r.Status}
	return json.Marshal(m)
}

// Ref returns the API's <Kind>Ref list item (names, arn, owners, version,
// timestamps).
func (r *Resource) Ref() map[string]any {
	m := r.names()
	md := r.Metadata
	m["arn"] = md.Arn
	m["createdAt"] = md.CreatedAt
	m["lastUpdatedAt"] = md.LastUpdatedAt
	m["meshOwner"] = md.MeshOwner
	m["resourceOwner"] = md.ResourceOwner
	m["version"] = md.Version
	return m
}

func (r *Resource) names() map[string]any {
	m := map[string]any{"meshName": r.Mesh}
	if r.Kind == KindMesh {
		return m
	}
	if p := r.Kind.Parent(); p != 0 {
		m[p.NameKey()] = r.Parent
	}
	m[r.Kind.NameKey()] = r.Name
	return m
}
