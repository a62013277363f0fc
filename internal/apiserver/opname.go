package apiserver

import "net/http"

// Operation names the App Mesh operation r calls, as the AWS API names it
// (CreateVirtualNode, ListMeshes, TagResource…), or "" when r matches none
// of the 38: the name of the routes table's entry whose pattern the mux
// serves r with. The names form a fixed set, so they are safe as metric
// labels.
func (s *Server) Operation(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	return s.operationName(pattern)
}

// operationName maps a mux pattern ("PUT /v20190125/meshes") to its
// operation name.
func (s *Server) operationName(pattern string) string {
	op, _ := s.ops.ByPattern(pattern)
	return op.Name
}
