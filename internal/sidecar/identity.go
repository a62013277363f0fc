package sidecar

import (
	"errors"
	"fmt"
	"strings"
)

// Kinds of App Mesh resources an Envoy can stand for, as they appear in
// node ids.
const (
	KindVirtualNode    = "virtualNode"
	KindVirtualGateway = "virtualGateway"
)

// ErrInvalidResource is wrapped by every ParseResource error.
var ErrInvalidResource = errors.New("invalid App Mesh resource")

// Identity is what the proxy stands for. NodeID is sent to the server
// verbatim as Envoy's node.id (App Mesh copied APPMESH_RESOURCE_ARN as is);
// Mesh, Kind and Name are parsed from it for logs and the Registrar.
type Identity struct {
	NodeID string
	// Cluster is Envoy's node.cluster; it names the proxy in stats and
	// traces and defaults to NodeID.
	Cluster string
	Mesh    string // may carry the controller's <mesh>@<owner> form
	Kind    string // KindVirtualNode or KindVirtualGateway
	Name    string
}

// IsGateway reports whether the proxy is a virtual gateway.
func (id Identity) IsGateway() bool { return id.Kind == KindVirtualGateway }

// ParseResource parses the value of APPMESH_RESOURCE_ARN (or its legacy
// fallbacks): an ARN ending in mesh/<mesh>/<kind>/<name>, or that short
// form itself. Like App Mesh's agent it splits on '/' and reads the last
// four parts, so any ARN prefix is accepted; the server applies the strict
// rules when Envoy connects.
func ParseResource(s string) (Identity, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 4 {
		return Identity{}, fmt.Errorf("%w %q: want mesh/<mesh>/virtualNode|virtualGateway/<name> or an ARN ending in it",
			ErrInvalidResource, s)
	}
	tail := parts[len(parts)-4:]
	head, mesh, kind, name := tail[0], tail[1], tail[2], tail[3]
	if head != "mesh" && !strings.HasSuffix(head, ":mesh") {
		return Identity{}, fmt.Errorf("%w %q: no mesh/ segment before %q", ErrInvalidResource, s, mesh)
	}
	if kind != KindVirtualNode && kind != KindVirtualGateway {
		return Identity{}, fmt.Errorf("%w %q: kind %q is neither %s nor %s",
			ErrInvalidResource, s, kind, KindVirtualNode, KindVirtualGateway)
	}
	if err := checkName("mesh", mesh); err != nil {
		return Identity{}, fmt.Errorf("%w %q: %w", ErrInvalidResource, s, err)
	}
	if err := checkName("name", name); err != nil {
		return Identity{}, fmt.Errorf("%w %q: %w", ErrInvalidResource, s, err)
	}
	return Identity{NodeID: s, Mesh: mesh, Kind: kind, Name: name}, nil
}

// NewIdentity builds the short-form identity of a virtual node or gateway
// named by flags.
func NewIdentity(mesh, kind, name string) (Identity, error) {
	if err := checkName("mesh", mesh); err != nil {
		return Identity{}, err
	}
	if err := checkName("name", name); err != nil {
		return Identity{}, err
	}
	if strings.Contains(mesh, "/") || strings.Contains(name, "/") {
		return Identity{}, fmt.Errorf("mesh %q and name %q must not contain '/'", mesh, name)
	}
	return Identity{NodeID: "mesh/" + mesh + "/" + kind + "/" + name, Mesh: mesh, Kind: kind, Name: name}, nil
}

// checkName refuses names no App Mesh resource can have: empty ones and
// ones with blanks or control characters (which would garble log lines).
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("%s %q contains %q", what, s, r)
		}
	}
	return nil
}

// identity resolves who the proxy is: the --mesh/--virtual-node/
// --virtual-gateway flags, else APPMESH_RESOURCE_ARN, APPMESH_RESOURCE_NAME,
// APPMESH_VIRTUAL_NODE_NAME in that order (App Mesh's agent order).
func (r *resolver) identity() Identity {
	id, ok := r.identityFromFlags()
	if !ok {
		id, ok = r.identityFromEnv()
	}
	if !ok {
		r.errs = append(r.errs, errors.New("no identity: set --mesh with --virtual-node or --virtual-gateway, "+
			"or APPMESH_RESOURCE_ARN (arn:aws:appmesh:<region>:<account>:mesh/<mesh>/virtualNode/<name> or mesh/<mesh>/virtualNode/<name>)"))
		return Identity{}
	}
	id.Cluster = id.NodeID
	if v, _, set := r.lookup("node-cluster", "APPMESH_RESOURCE_CLUSTER", "APPMESH_VIRTUAL_NODE_CLUSTER"); set {
		id.Cluster = v
	}
	return id
}

func (r *resolver) identityFromFlags() (Identity, bool) {
	mesh, _, hasMesh := r.flag("mesh")
	node, _, hasNode := r.flag("virtual-node")
	gw, _, hasGW := r.flag("virtual-gateway")
	if !hasMesh && !hasNode && !hasGW {
		return Identity{}, false
	}
	kind, name := KindVirtualNode, node
	switch {
	case hasNode && hasGW:
		return r.failIdentity(errors.New("--virtual-node and --virtual-gateway are exclusive"))
	case !hasMesh:
		return r.failIdentity(errors.New("--virtual-node/--virtual-gateway need --mesh"))
	case hasGW:
		kind, name = KindVirtualGateway, gw
	case !hasNode:
		return r.failIdentity(errors.New("--mesh needs --virtual-node or --virtual-gateway"))
	}
	id, err := NewIdentity(mesh, kind, name)
	if err != nil {
		return r.failIdentity(fmt.Errorf("identity flags: %w", err))
	}
	return id, true
}

func (r *resolver) identityFromEnv() (Identity, bool) {
	v, from, ok := r.lookup("", "APPMESH_RESOURCE_ARN", "APPMESH_RESOURCE_NAME", "APPMESH_VIRTUAL_NODE_NAME")
	if !ok {
		return Identity{}, false
	}
	id, err := ParseResource(v)
	if err != nil {
		return r.failIdentity(fmt.Errorf("%s: %w", from, err))
	}
	return id, true
}

// failIdentity records err and reports the identity as found, so Load
// does not add a second, misleading "no identity" error.
func (r *resolver) failIdentity(err error) (Identity, bool) {
	r.errs = append(r.errs, err)
	return Identity{}, true
}
