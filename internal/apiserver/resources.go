package apiserver

import (
	"net/http"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/manager"
)

// identity reads a resource's identity from the path labels of a request.
// name is false for collection URIs (create and list).
func identity(r *http.Request, kind appmesh.Kind, name bool) appmesh.Identity {
	id := appmesh.Identity{Kind: kind, Mesh: r.PathValue("meshName")}
	if p := kind.Parent(); p != 0 {
		id.Parent = r.PathValue(p.NameKey())
	}
	if kind == appmesh.KindMesh {
		id.Name = id.Mesh
	} else if name {
		id.Name = r.PathValue(kind.NameKey())
	}
	return id
}

// checkOwner applies the meshOwner query parameter where the operation has
// one (everything but Create/Update/Delete/List of meshes).
func (s *Server) checkOwner(r *http.Request, id appmesh.Identity) error {
	return s.mgr.CheckMeshOwner(r.URL.Query().Get("meshOwner"), id.Mesh)
}

func (s *Server) create(kind appmesh.Kind) http.HandlerFunc {
	class := classCreate
	return func(w http.ResponseWriter, r *http.Request) {
		res, err := s.doCreate(r, kind)
		s.respondResource(w, r, class, res, err)
	}
}

func (s *Server) doCreate(r *http.Request, kind appmesh.Kind) (*appmesh.Resource, error) {
	id := identity(r, kind, false)
	if kind != appmesh.KindMesh {
		if err := s.checkOwner(r, id); err != nil {
			return nil, err
		}
	}
	b, err := readBody(r, kind.NameKey(), "spec", "tags", "clientToken")
	if err != nil {
		return nil, err
	}
	in := manager.CreateInput{ID: id}
	var name string
	if err := b.decode(kind.NameKey(), &name); err != nil {
		return nil, err
	}
	if kind == appmesh.KindMesh {
		id.Mesh = name
	}
	id.Name = name
	in.ID = id
	if b.has("spec") {
		in.Spec = kind.NewSpec()
		if err := b.decode("spec", in.Spec); err != nil {
			return nil, err
		}
	}
	if err := b.decode("tags", &in.Tags); err != nil {
		return nil, err
	}
	if err := b.decode("clientToken", &in.ClientToken); err != nil {
		return nil, err
	}
	return s.mgr.Create(r.Context(), in)
}

func (s *Server) update(kind appmesh.Kind) http.HandlerFunc {
	class := classCreate
	if kind == appmesh.KindMesh {
		class = classUpdateMesh
	}
	return func(w http.ResponseWriter, r *http.Request) {
		res, err := s.doUpdate(r, kind)
		s.respondResource(w, r, class, res, err)
	}
}

func (s *Server) doUpdate(r *http.Request, kind appmesh.Kind) (*appmesh.Resource, error) {
	id := identity(r, kind, true)
	if kind != appmesh.KindMesh {
		if err := s.checkOwner(r, id); err != nil {
			return nil, err
		}
	}
	b, err := readBody(r, "spec", "clientToken")
	if err != nil {
		return nil, err
	}
	in := manager.UpdateInput{ID: id}
	if b.has("spec") {
		in.Spec = kind.NewSpec()
		if err := b.decode("spec", in.Spec); err != nil {
			return nil, err
		}
	}
	if err := b.decode("clientToken", &in.ClientToken); err != nil {
		return nil, err
	}
	return s.mgr.Update(r.Context(), in)
}

func (s *Server) describe(kind appmesh.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := identity(r, kind, true)
		err := s.checkOwner(r, id)
		var res *appmesh.Resource
		if err == nil {
			res, err = s.mgr.Describe(r.Context(), id)
		}
		s.respondResource(w, r, classRead, res, err)
	}
}

func (s *Server) delete(kind appmesh.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := identity(r, kind, true)
		var err error
		if kind != appmesh.KindMesh {
			err = s.checkOwner(r, id)
		}
		var res *appmesh.Resource
		if err == nil {
			res, err = s.mgr.Delete(r.Context(), id)
		}
		s.respondResource(w, r, classDelete, res, err)
	}
}

func (s *Server) list(kind appmesh.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out, err := s.doList(r, kind)
		if err != nil {
			writeError(w, r, s.log, classRead, err)
			return
		}
		refs := make([]map[string]any, len(out.Items))
		for i, res := range out.Items {
			refs[i] = res.Ref()
		}
		resp := map[string]any{kind.ListKey(): refs}
		if out.NextToken != "" {
			resp["nextToken"] = out.NextToken
		}
		writeJSON(w, resp)
	}
}

func (s *Server) doList(r *http.Request, kind appmesh.Kind) (*manager.ListOutput, error) {
	id := identity(r, kind, false)
	if kind != appmesh.KindMesh {
		if err := s.checkOwner(r, id); err != nil {
			return nil, err
		}
	}
	limit, err := queryLimit(r, 100)
	if err != nil {
		return nil, err
	}
	return s.mgr.List(r.Context(), manager.ListInput{
		Kind: kind, Mesh: id.Mesh, Parent: id.Parent,
		Limit: limit, NextToken: r.URL.Query().Get("nextToken"),
	})
}

// respondResource sends a bare <Kind>Data body or the error.
func (s *Server) respondResource(w http.ResponseWriter, r *http.Request, class opClass, res *appmesh.Resource, err error) {
	if err != nil {
		writeError(w, r, s.log, class, err)
		return
	}
	b, err := res.MarshalData()
	if err != nil {
		writeError(w, r, s.log, class, err)
		return
	}
	writeRaw(w, b)
}
