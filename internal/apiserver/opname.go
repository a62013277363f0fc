package apiserver

import (
	"net/http"
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// Operation names the App Mesh operation r calls, as the AWS API names it
// (CreateVirtualNode, ListMeshes, TagResource…), or "" when r matches none
// of the 38. The names form a fixed set, so they are safe as metric labels.
func (s *Server) Operation(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	return operationName(pattern)
}

// operationName maps a mux pattern ("PUT /v20190125/meshes") to its
// operation name.
func operationName(pattern string) string {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		return ""
	}
	switch method + " " + path {
	case "GET " + apiPrefix + "/tags":
		return "ListTagsForResource"
	case "PUT " + apiPrefix + "/tag":
		return "TagResource"
	case "PUT " + apiPrefix + "/untag":
		return "UntagResource"
	}
	for _, kind := range appmesh.Kinds {
		if op := kindOperation(kind, method, path); op != "" {
			return op
		}
	}
	return ""
}

// kindOperation names the operation on kind that method and path call, or "".
func kindOperation(kind appmesh.Kind, method, path string) string {
	switch path {
	case collectionPattern(kind):
		switch method {
		case http.MethodPut:
			return "Create" + kind.String()
		case http.MethodGet:
			list := kind.ListKey()
			return "List" + strings.ToUpper(list[:1]) + list[1:]
		}
	case itemPattern(kind):
		switch method {
		case http.MethodGet:
			return "Describe" + kind.String()
		case http.MethodPut:
			return "Update" + kind.String()
		case http.MethodDelete:
			return "Delete" + kind.String()
		}
	}
	return ""
}
