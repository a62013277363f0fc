package irgen

import (
	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/meshview"
)

// A part's dependencies are the mesh objects its translation read, by
// identity. meshview hands every object that did not change from one
// snapshot to the next (copy-on-write: a route edit gives its router a new
// object, nothing else), so a part whose dependencies are all the same
// objects in a later snapshot translates to the same IR there, and Memo
// hands it over without translating. Names looked up and not found count
// too (a backend's virtual service created later must be seen). A part
// that asked the registry depends on endpoints outside the snapshot and is
// never handed over.

// depKind is the kind of mesh object a dependency names.
type depKind uint8

const (
	depVirtualService depKind = iota
	depVirtualNode
	depVirtualRouter
)

// dep is one object read: what was found under the name (nil if none).
type dep struct {
	kind depKind
	name string
	obj  any
}

// deps records what one translation read. A nil *deps records nothing.
type deps struct {
	meshSpec *appmesh.MeshSpec
	// autoMTLS is the mesh's auto-mTLS mode (a tag edit keeps the spec).
	autoMTLS string
	list     []dep
	volatile bool
}

func newDeps(mesh *meshview.Mesh) *deps {
	return &deps{meshSpec: mesh.Spec, autoMTLS: autoMTLSMode(mesh)}
}

func (d *deps) add(kind depKind, name string, obj any) {
	if d != nil {
		d.list = append(d.list, dep{kind, name, obj})
	}
}

// usedRegistry marks a translation that read registry endpoints.
func (d *deps) usedRegistry() {
	if d != nil {
		d.volatile = true
	}
}

// hold reports whether every dependency is the same object in mesh.
func (d *deps) hold(mesh *meshview.Mesh) bool {
	if d.volatile || mesh.Spec != d.meshSpec || autoMTLSMode(mesh) != d.autoMTLS {
		return false
	}
	for _, x := range d.list {
		var cur any
		switch x.kind {
		case depVirtualService:
			cur = mesh.VirtualServices.Get(x.name)
		case depVirtualNode:
			cur = mesh.VirtualNodes.Get(x.name)
		case depVirtualRouter:
			cur = mesh.VirtualRouters.Get(x.name)
		}
		if cur != x.obj {
			return false
		}
	}
	return true
}

// The translator reads mesh objects through these, so that what it read is
// recorded (t.deps may be nil).

func (t *translator) virtualService(name string) *meshview.VirtualService {
	v := t.mesh.VirtualServices.Get(name)
	t.deps.add(depVirtualService, name, v)
	return v
}

func (t *translator) virtualNode(name string) *meshview.VirtualNode {
	v := t.mesh.VirtualNodes.Get(name)
	t.deps.add(depVirtualNode, name, v)
	return v
}

func (t *translator) virtualRouter(name string) *meshview.VirtualRouter {
	v := t.mesh.VirtualRouters.Get(name)
	t.deps.add(depVirtualRouter, name, v)
	return v
}
