package enrol

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Kinds of proxy identity, as in App Mesh node ids.
const (
	KindVirtualNode    = "virtualNode"
	KindVirtualGateway = "virtualGateway"
)

// ErrInvalidID is wrapped by ParseID errors.
var ErrInvalidID = errors.New("invalid spiffe id")

// ID is a proxy's SPIFFE id:
// spiffe://<trust-domain>/mesh/<mesh>/<kind>/<name>.
type ID struct {
	TrustDomain string
	Mesh        string
	Kind        string // KindVirtualNode or KindVirtualGateway
	Name        string
}

// String formats the id as a spiffe:// URI.
func (id ID) String() string {
	return "spiffe://" + id.TrustDomain + "/" + id.Path()
}

// Path is the node-id form of the identity, mesh/<mesh>/<kind>/<name>.
func (id ID) Path() string {
	return "mesh/" + id.Mesh + "/" + id.Kind + "/" + id.Name
}

// URL returns the id as a URL for an X.509 URI SAN.
func (id ID) URL() *url.URL {
	return &url.URL{Scheme: "spiffe", Host: id.TrustDomain, Path: "/" + id.Path()}
}

// ParseID parses a proxy SPIFFE id. It is strict: lower-case trust domain,
// no port, user, query, fragment, nor empty or dot path segments.
func ParseID(s string) (ID, error) {
	if len(s) > 2048 {
		return ID{}, fmt.Errorf("%w: longer than 2048 bytes", ErrInvalidID)
	}
	rest, ok := strings.CutPrefix(s, "spiffe://")
	if !ok {
		return ID{}, fmt.Errorf("%w %q: scheme is not spiffe", ErrInvalidID, s)
	}
	td, path, ok := strings.Cut(rest, "/")
	if !ok || !validTrustDomain(td) {
		return ID{}, fmt.Errorf("%w %q: bad trust domain", ErrInvalidID, s)
	}
	seg := strings.Split(path, "/")
	if len(seg) != 4 || seg[0] != "mesh" || (seg[2] != KindVirtualNode && seg[2] != KindVirtualGateway) {
		return ID{}, fmt.Errorf("%w %q: want spiffe://<td>/mesh/<mesh>/virtualNode|virtualGateway/<name>", ErrInvalidID, s)
	}
	for _, v := range []string{seg[1], seg[3]} {
		if !validName(v) {
			return ID{}, fmt.Errorf("%w %q: bad name %q", ErrInvalidID, s, v)
		}
	}
	return ID{TrustDomain: td, Mesh: seg[1], Kind: seg[2], Name: seg[3]}, nil
}

// ValidTrustDomain reports whether td may name a trust domain: 1-255 of
// [a-z0-9.-_], as the SPIFFE specification allows.
func ValidTrustDomain(td string) bool { return validTrustDomain(td) }

func validTrustDomain(td string) bool {
	if td == "" || len(td) > 255 {
		return false
	}
	for _, c := range td {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validName accepts App Mesh names (1-255 characters) that are safe as a
// SPIFFE path segment: letters, digits, '-', '_' and '.', not "." or "..".
func validName(n string) bool {
	if n == "" || len(n) > 255 || n == "." || n == ".." {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
