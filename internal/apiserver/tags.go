package apiserver

import (
	"net/http"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/manager"
)

func (s *Server) tagResource(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		b, err := readBody(r, "tags")
		if err != nil {
			return err
		}
		if !b.has("tags") {
			return badRequest("tags: is required")
		}
		var tags []appmesh.TagRef
		if err := b.decode("tags", &tags); err != nil {
			return err
		}
		return s.mgr.TagResource(r.Context(), r.URL.Query().Get("resourceArn"), tags)
	}()
	s.respondEmpty(w, r, classTag, err)
}

func (s *Server) untagResource(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		b, err := readBody(r, "tagKeys")
		if err != nil {
			return err
		}
		if !b.has("tagKeys") {
			return badRequest("tagKeys: is required")
		}
		var keys []string
		if err := b.decode("tagKeys", &keys); err != nil {
			return err
		}
		return s.mgr.UntagResource(r.Context(), r.URL.Query().Get("resourceArn"), keys)
	}()
	s.respondEmpty(w, r, classRead, err)
}

func (s *Server) listTags(w http.ResponseWriter, r *http.Request) {
	page, err := func() (*manager.TagsPage, error) {
		limit, err := queryLimit(r, manager.MaxTags)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		return s.mgr.ListTags(r.Context(), q.Get("resourceArn"), limit, q.Get("nextToken"))
	}()
	if err != nil {
		writeError(w, r, s.log, classRead, err)
		return
	}
	resp := map[string]any{"tags": page.Tags}
	if page.NextToken != "" {
		resp["nextToken"] = page.NextToken
	}
	writeJSON(w, resp)
}

// respondEmpty answers TagResource/UntagResource: {} on success.
func (s *Server) respondEmpty(w http.ResponseWriter, r *http.Request, class opClass, err error) {
	if err != nil {
		writeError(w, r, s.log, class, err)
		return
	}
	writeRaw(w, []byte("{}"))
}
