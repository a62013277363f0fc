package xdsserver

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kinds of App Mesh resources that run an Envoy, as they appear in node ids.
const (
	KindVirtualNode    = "virtualNode"
	KindVirtualGateway = "virtualGateway"
)

// maxNameLen is App Mesh's limit on mesh, virtual node and gateway names.
const maxNameLen = 255

// ErrInvalidNodeID is wrapped by every ParseNodeID error.
var ErrInvalidNodeID = errors.New("invalid node id")

// NodeRef is what a node id names: the App Mesh form
// mesh/<mesh>/virtualNode/<name> or mesh/<mesh>/virtualGateway/<name>, the
// same path inside a full ARN (arn:aws:appmesh:<region>:<acct>:mesh/...),
// and the Kubernetes controller's shared-mesh form whose mesh segment is
// <mesh>@<owner account> (Mesh holds the part before '@').
type NodeRef struct {
	Mesh string
	Kind string // KindVirtualNode or KindVirtualGateway
	Name string
}

// String returns the short node id form, mesh/<mesh>/<kind>/<name>; it
// parses back to the same NodeRef.
func (r NodeRef) String() string {
	return "mesh/" + r.Mesh + "/" + r.Kind + "/" + r.Name
}

// ParseNodeID parses an Envoy node.id as the App Mesh Envoy image sets it
// from APPMESH_RESOURCE_ARN (or its legacy fallbacks). It is stricter than
// the image's agent, which only needs four '/'-separated parts: the id is
// the key under which this server keeps the node's configuration, so
// anything that cannot name a virtual node or gateway is refused.
func ParseNodeID(id string) (NodeRef, error) {
	path := id
	if strings.HasPrefix(id, "arn:") {
		p, err := arnResource(id)
		if err != nil {
			return NodeRef{}, err
		}
		path = p
	}
	ref, err := parsePath(path)
	if err != nil {
		return NodeRef{}, fmt.Errorf("%w %q: %w", ErrInvalidNodeID, id, err)
	}
	return ref, nil
}

// arnResource returns the resource part of an App Mesh ARN; preview-channel
// ARNs (service appmesh-preview) name the same resources.
func arnResource(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[1] == "" {
		return "", fmt.Errorf("%w %q: not an ARN", ErrInvalidNodeID, arn)
	}
	if parts[2] != "appmesh" && parts[2] != "appmesh-preview" {
		return "", fmt.Errorf("%w %q: service %q is not appmesh", ErrInvalidNodeID, arn, parts[2])
	}
	return parts[5], nil
}

// parsePath parses mesh/<mesh>/<kind>/<name>.
func parsePath(p string) (NodeRef, error) {
	seg := strings.Split(p, "/")
	if len(seg) != 4 || seg[0] != "mesh" {
		return NodeRef{}, errors.New("want mesh/<mesh>/virtualNode|virtualGateway/<name>")
	}
	if seg[2] != KindVirtualNode && seg[2] != KindVirtualGateway {
		return NodeRef{}, fmt.Errorf("kind %q is neither %s nor %s", seg[2], KindVirtualNode, KindVirtualGateway)
	}
	mesh, err := meshName(seg[1])
	if err != nil {
		return NodeRef{}, err
	}
	if err := checkName("name", seg[3]); err != nil {
		return NodeRef{}, err
	}
	return NodeRef{Mesh: mesh, Kind: seg[2], Name: seg[3]}, nil
}

// meshName strips the owner of the controller's <mesh>@<owner> form, which
// it uses for meshes shared from another account.
func meshName(s string) (string, error) {
	mesh, owner, shared := strings.Cut(s, "@")
	if shared && (owner == "" || strings.Contains(owner, "@")) {
		return "", fmt.Errorf("mesh %q: want <mesh>@<owner>", s)
	}
	return mesh, checkName("mesh", mesh)
}

// checkName applies App Mesh's length limit and refuses blanks and control
// characters, which no App Mesh name has and which would garble log lines.
func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty %s", what)
	case utf8.RuneCountInString(s) > maxNameLen:
		// Characters, as App Mesh (and the API) count them.
		return fmt.Errorf("%s longer than %d characters", what, maxNameLen)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("%s %q contains %q", what, s, r)
		}
	}
	return nil
}
