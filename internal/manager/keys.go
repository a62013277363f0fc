package manager

import (
	"net/url"
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// Key layout. Names are path-escaped so a '/' in a name cannot forge a
// deeper key, and every collection is a prefix of its own:
//
//	appmesh/meshes/<mesh>                                 mesh
//	appmesh/m/<mesh>/<kind>/<name>                        VN, VR, VS, VG
//	appmesh/m/<mesh>/route/<router>/<name>                route
//	appmesh/m/<mesh>/gatewayRoute/<gateway>/<name>        gateway route
//	appmesh/refs/<mesh>/<kind>/<name>/<referrer path>     reverse reference
//
// Reverse references are written in the same transaction as the referrer,
// so "is anything pointing at X?" is one prefix read, and the delete of X is
// guarded by a comparison on that prefix.
const (
	// KeyPrefix is the root of everything this package stores; meshview
	// watches it.
	KeyPrefix  = "appmesh/"
	meshPrefix = KeyPrefix + "meshes/"
	objPrefix  = KeyPrefix + "m/"
	refPrefix  = KeyPrefix + "refs/"
)

// IsResourceKey reports whether a store key holds a resource (as opposed
// to a reverse reference). Readers of the store (meshview) use it.
func IsResourceKey(key string) bool {
	return strings.HasPrefix(key, meshPrefix) || strings.HasPrefix(key, objPrefix)
}

func esc(s string) string { return url.PathEscape(s) }

// resourceKey is the store key of a resource.
func resourceKey(id appmesh.Identity) string {
	if id.Kind == appmesh.KindMesh {
		return meshPrefix + esc(id.Mesh)
	}
	if id.Kind.Parent() != 0 {
		return objPrefix + esc(id.Mesh) + "/" + id.Kind.ARNSegment() + "/" + esc(id.Parent) + "/" + esc(id.Name)
	}
	return objPrefix + esc(id.Mesh) + "/" + id.Kind.ARNSegment() + "/" + esc(id.Name)
}

// collectionPrefix is the prefix under which resources of a kind live: all
// meshes, a mesh's nodes, or a router's routes (parent given).
func collectionPrefix(kind appmesh.Kind, mesh, parent string) string {
	if kind == appmesh.KindMesh {
		return meshPrefix
	}
	if kind.Parent() != 0 {
		return objPrefix + esc(mesh) + "/" + kind.ARNSegment() + "/" + esc(parent) + "/"
	}
	return objPrefix + esc(mesh) + "/" + kind.ARNSegment() + "/"
}

// meshChildrenPrefix covers every resource inside a mesh.
func meshChildrenPrefix(mesh string) string { return objPrefix + esc(mesh) + "/" }

// refTargetPrefix covers every reverse reference pointing at target.
func refTargetPrefix(target appmesh.Identity) string {
	return refPrefix + esc(target.Mesh) + "/" + target.Kind.ARNSegment() + "/" + esc(target.Name) + "/"
}

// refKey records that referrer points at target.
func refKey(target, referrer appmesh.Identity) string {
	return refTargetPrefix(target) + esc(referrer.Path())
}

// referrerFromRefKey recovers the referrer's path from a reverse reference.
func referrerFromRefKey(key string) string {
	i := strings.LastIndexByte(key, '/')
	p, err := url.PathUnescape(key[i+1:])
	if err != nil {
		return key[i+1:]
	}
	return p
}
