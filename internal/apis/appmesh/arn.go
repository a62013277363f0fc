package appmesh

import (
	"errors"
	"strings"
)

// Identity names one resource: its kind, mesh, parent (the virtual router of
// a route, the virtual gateway of a gateway route; empty otherwise) and name.
// For a mesh, Mesh and Name are both the mesh name.
type Identity struct {
	Kind   Kind
	Mesh   string
	Parent string
	Name   string
}

// Path returns the resource part of its ARN:
// mesh/M, mesh/M/virtualNode/N, mesh/M/virtualRouter/R/route/N.
func (id Identity) Path() string {
	if id.Kind == KindMesh {
		return "mesh/" + id.Mesh
	}
	var b strings.Builder
	b.Grow(id.pathLen())
	id.writePath(&b)
	return b.String()
}

// ARN formats arn:aws:appmesh:<region>:<account>:<path>, in one allocation
// (it runs for every authorized request).
func (id Identity) ARN(region, account string) string {
	const prefix = "arn:aws:appmesh:"
	var b strings.Builder
	b.Grow(len(prefix) + len(region) + 1 + len(account) + 1 + id.pathLen())
	b.WriteString(prefix)
	b.WriteString(region)
	b.WriteByte(':')
	b.WriteString(account)
	b.WriteByte(':')
	id.writePath(&b)
	return b.String()
}

// pathLen is len(id.Path()).
func (id Identity) pathLen() int {
	n := len("mesh/") + len(id.Mesh)
	if id.Kind == KindMesh {
		return n
	}
	if p := id.Kind.Parent(); p != 0 {
		n += 1 + len(p.ARNSegment()) + 1 + len(id.Parent)
	}
	return n + 1 + len(id.Kind.ARNSegment()) + 1 + len(id.Name)
}

// writePath writes id.Path() to b.
func (id Identity) writePath(b *strings.Builder) {
	b.WriteString("mesh/")
	b.WriteString(id.Mesh)
	if id.Kind == KindMesh {
		return
	}
	b.WriteByte('/')
	if p := id.Kind.Parent(); p != 0 {
		b.WriteString(p.ARNSegment())
		b.WriteByte('/')
		b.WriteString(id.Parent)
		b.WriteByte('/')
	}
	b.WriteString(id.Kind.ARNSegment())
	b.WriteByte('/')
	b.WriteString(id.Name)
}

// ParsedARN is an App Mesh ARN split into its parts.
type ParsedARN struct {
	Partition, Region, Account string
	Identity                   Identity
}

// ErrInvalidARN is returned for strings that are not App Mesh resource ARNs.
var ErrInvalidARN = errors.New("not an App Mesh resource ARN")

// ParseARN splits an App Mesh ARN. Names may not contain '/', as in App Mesh.
func ParseARN(arn string) (ParsedARN, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "appmesh" || parts[1] == "" {
		return ParsedARN{}, ErrInvalidARN
	}
	id, err := ParsePath(parts[5])
	if err != nil {
		return ParsedARN{}, err
	}
	return ParsedARN{Partition: parts[1], Region: parts[3], Account: parts[4], Identity: id}, nil
}

// ParsePath parses the resource part of an ARN (also the Envoy node id
// form mesh/M/virtualNode/N).
func ParsePath(p string) (Identity, error) {
	seg := strings.Split(p, "/")
	if len(seg) < 2 || seg[0] != "mesh" || seg[1] == "" {
		return Identity{}, ErrInvalidARN
	}
	id := Identity{Kind: KindMesh, Mesh: seg[1], Name: seg[1]}
	switch len(seg) {
	case 2:
		return id, nil
	case 4, 6:
	default:
		return Identity{}, ErrInvalidARN
	}
	k, ok := KindByARNSegment(seg[2])
	if !ok || k == KindMesh || seg[3] == "" {
		return Identity{}, ErrInvalidARN
	}
	if len(seg) == 4 {
		if k.Parent() != 0 {
			return Identity{}, ErrInvalidARN
		}
		id.Kind, id.Name = k, seg[3]
		return id, nil
	}
	child, ok := KindByARNSegment(seg[4])
	if !ok || child.Parent() != k || seg[5] == "" {
		return Identity{}, ErrInvalidARN
	}
	id.Kind, id.Parent, id.Name = child, seg[3], seg[5]
	return id, nil
}
