package routes

import (
	"net/http"
	"strings"
)

// Table indexes AppMesh and CloudMap for lookups. Each owner (the App Mesh
// API server, the Cloud Map API, the authorization middleware) builds one
// with NewTable and passes it down; it is bounded by the fixed operation
// set, never invalidated, immutable once built and safe for concurrent use.
type Table struct {
	appMesh   []Route
	segs      [][]string       // appMesh[i].Pattern split at "/", without the leading ""
	byPattern map[string]Route // "PUT /v20190125/meshes"
	cloudMap  map[string]bool
}

// NewTable indexes AppMesh and CloudMap.
func NewTable() *Table {
	t := &Table{appMesh: AppMesh(), byPattern: map[string]Route{}, cloudMap: map[string]bool{}}
	for _, r := range t.appMesh {
		t.segs = append(t.segs, strings.Split(strings.TrimPrefix(r.Pattern, "/"), "/"))
		t.byPattern[r.Method+" "+r.Pattern] = r
	}
	for _, name := range CloudMap() {
		t.cloudMap[name] = true
	}
	return t
}

// AppMesh returns the App Mesh operations, in a new slice.
func (t *Table) AppMesh() []Route {
	return append([]Route(nil), t.appMesh...)
}

// ByPattern finds the operation registered as the http.ServeMux pattern
// "METHOD /path" (what ServeMux.Handler reports for a request).
func (t *Table) ByPattern(pattern string) (Route, bool) {
	r, ok := t.byPattern[pattern]
	return r, ok
}

// IsCloudMap reports whether name is a Cloud Map operation.
func (t *Table) IsCloudMap(name string) bool {
	return t.cloudMap[name]
}

// Params are the names a matched URI carries.
type Params struct {
	// Mesh is the {meshName} segment.
	Mesh string
	// Parent is the virtual router or gateway of a route or gateway route.
	Parent string
	// Name is the resource's own name segment, on item URIs.
	Name string
}

// Match finds the App Mesh operation that method and segs (the request
// path's segments, unescaped, "v20190125" first) call. A wildcard matches
// any one segment; HEAD matches GET, as with http.ServeMux.
func (t *Table) Match(method string, segs []string) (Route, Params, bool) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	for i, r := range t.appMesh {
		if r.Method != method || len(t.segs[i]) != len(segs) {
			continue
		}
		if p, ok := match(r, t.segs[i], segs); ok {
			return r, p, true
		}
	}
	return Route{}, Params{}, false
}

// match compares a pattern's segments with a path's and collects the
// wildcards' values.
func match(r Route, pattern, segs []string) (Params, bool) {
	var p Params
	for j, ps := range pattern {
		wild, ok := strings.CutPrefix(ps, "{")
		if !ok {
			if ps != segs[j] {
				return Params{}, false
			}
			continue
		}
		switch wild = strings.TrimSuffix(wild, "}"); {
		case wild == r.Kind.NameKey():
			p.Name = segs[j]
			if wild == "meshName" {
				p.Mesh = segs[j]
			}
		case wild == "meshName":
			p.Mesh = segs[j]
		default:
			p.Parent = segs[j]
		}
	}
	return p, true
}
