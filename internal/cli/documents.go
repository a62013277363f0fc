package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// Document is one apply-able resource: its kind, names, spec and tags, with
// the App Mesh API's JSON field names.
type Document struct {
	Kind               string           `json:"kind"`
	MeshName           string           `json:"meshName"`
	VirtualNodeName    string           `json:"virtualNodeName,omitempty"`
	VirtualServiceName string           `json:"virtualServiceName,omitempty"`
	VirtualRouterName  string           `json:"virtualRouterName,omitempty"`
	RouteName          string           `json:"routeName,omitempty"`
	VirtualGatewayName string           `json:"virtualGatewayName,omitempty"`
	GatewayRouteName   string           `json:"gatewayRouteName,omitempty"`
	Spec               json.RawMessage  `json:"spec,omitempty"`
	Tags               []appmesh.TagRef `json:"tags,omitempty"`

	// Source is where the document came from (file#n), for messages.
	Source string `json:"-"`
	// ID is the resolved identity.
	ID appmesh.Identity `json:"-"`

	// crd, when set, is an appmesh.k8s.aws custom resource that
	// convertCRDs replaces with API-form documents (see crd.go).
	crd *crdObject
}

// names maps a name key to the document's field.
func (d *Document) names() map[string]*string {
	return map[string]*string{
		"virtualNodeName":    &d.VirtualNodeName,
		"virtualServiceName": &d.VirtualServiceName,
		"virtualRouterName":  &d.VirtualRouterName,
		"routeName":          &d.RouteName,
		"virtualGatewayName": &d.VirtualGatewayName,
		"gatewayRouteName":   &d.GatewayRouteName,
	}
}

// resolve checks the kind and names and fills ID.
func (d *Document) resolve() error {
	kind, ok := kindByName(d.Kind)
	if !ok || d.Kind != kind.String() {
		return fmt.Errorf("kind %q: want one of Mesh, VirtualNode, VirtualService, VirtualRouter, Route, VirtualGateway, GatewayRoute", d.Kind)
	}
	if d.MeshName == "" {
		return errors.New("meshName is required")
	}
	want := map[string]bool{}
	if kind != appmesh.KindMesh {
		want[kind.NameKey()] = true
		if p := kind.Parent(); p != 0 {
			want[p.NameKey()] = true
		}
	}
	id := appmesh.Identity{Kind: kind, Mesh: d.MeshName}
	keys := d.names()
	for _, k := range sortedKeys(keys) {
		v := *keys[k]
		switch {
		case want[k] && v == "":
			return fmt.Errorf("%s is required for kind %s", k, kind)
		case !want[k] && v != "":
			return fmt.Errorf("%s is not a field of kind %s", k, kind)
		}
	}
	if kind != appmesh.KindMesh {
		id.Name = *keys[kind.NameKey()]
		if p := kind.Parent(); p != 0 {
			id.Parent = *keys[p.NameKey()]
		}
	}
	d.ID = id
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// kindByName accepts the type name and lower-case aliases (virtualnode,
// virtualnodes, vn, ...).
// kindsHelp lists the names kindByName accepts, for the verbs' --help.
const kindsHelp = `Kinds (singular, plural or short name, any case):
  mesh             meshes
  virtualnode      virtualnodes      vn
  virtualservice   virtualservices   vs
  virtualrouter    virtualrouters    vr
  route            routes                  (with --router)
  virtualgateway   virtualgateways   vg
  gatewayroute     gatewayroutes     gr    (with --gateway)`

func kindByName(s string) (appmesh.Kind, bool) {
	aliases := map[string]appmesh.Kind{
		"mesh": appmesh.KindMesh, "meshes": appmesh.KindMesh,
		"virtualnode": appmesh.KindVirtualNode, "virtualnodes": appmesh.KindVirtualNode, "vn": appmesh.KindVirtualNode,
		"virtualservice": appmesh.KindVirtualService, "virtualservices": appmesh.KindVirtualService, "vs": appmesh.KindVirtualService,
		"virtualrouter": appmesh.KindVirtualRouter, "virtualrouters": appmesh.KindVirtualRouter, "vr": appmesh.KindVirtualRouter,
		"route": appmesh.KindRoute, "routes": appmesh.KindRoute,
		"virtualgateway": appmesh.KindVirtualGateway, "virtualgateways": appmesh.KindVirtualGateway, "vg": appmesh.KindVirtualGateway,
		"gatewayroute": appmesh.KindGatewayRoute, "gatewayroutes": appmesh.KindGatewayRoute, "gr": appmesh.KindGatewayRoute,
	}
	k, ok := aliases[strings.ToLower(s)]
	return k, ok
}

// label renders an identity for output: virtualnode/shop/web,
// route/shop/router/r1, mesh/shop.
func label(id appmesh.Identity) string {
	k := strings.ToLower(id.Kind.String())
	if id.Kind == appmesh.KindMesh {
		return k + "/" + id.Mesh
	}
	if id.Parent != "" {
		return k + "/" + id.Mesh + "/" + id.Parent + "/" + id.Name
	}
	return k + "/" + id.Mesh + "/" + id.Name
}

// rank is the kind's place in dependency order.
func rank(k appmesh.Kind) int {
	for i, kk := range appmesh.Kinds {
		if kk == k {
			return i
		}
	}
	return len(appmesh.Kinds)
}

// sortDocs orders documents by dependency (stable within a kind); reverse
// gives the order to delete them in.
func sortDocs(docs []*Document, reverse bool) {
	sort.SliceStable(docs, func(i, j int) bool {
		if reverse {
			return rank(docs[i].ID.Kind) > rank(docs[j].ID.Kind)
		}
		return rank(docs[i].ID.Kind) < rank(docs[j].ID.Kind)
	})
}

// loadOrdered reads the documents of the paths in dependency order, or in
// the order to delete them in (reverse).
func loadOrdered(paths []string, stdin io.Reader, reverse bool) ([]*Document, error) {
	docs, err := loadDocuments(paths, stdin)
	if err != nil {
		return nil, err
	}
	sortDocs(docs, reverse)
	return docs, nil
}

// loadDocuments reads every document of the paths: files, directories
// (*.yaml, *.yml, *.json, not recursive into subdirectories' order: sorted
// walk) or "-" for stdin.
func loadDocuments(paths []string, stdin io.Reader) ([]*Document, error) {
	if len(paths) == 0 {
		return nil, errors.New("no documents: use -f FILE|DIR|-")
	}
	var docs []*Document
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("reading stdin: %w", err)
			}
			d, err := parseDocuments("<stdin>", data)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
			continue
		}
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			d, err := parseDocuments(f, data)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
		}
	}
	docs, err := convertCRDs(docs)
	if err != nil {
		return nil, err
	}
	seen := map[appmesh.Identity]string{}
	for _, d := range docs {
		if prev, ok := seen[d.ID]; ok {
			return nil, fmt.Errorf("%s: %s is also defined at %s", d.Source, label(d.ID), prev)
		}
		seen[d.ID] = d.Source
	}
	return docs, nil
}

// expand turns a file or directory into the list of document files.
func expand(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// parseDocuments splits a YAML stream on "---" lines (JSON is YAML too) and
// decodes each non-empty document strictly.
func parseDocuments(source string, data []byte) ([]*Document, error) {
	var docs []*Document
	n := 0
	for _, chunk := range splitYAML(data) {
		n++
		src := fmt.Sprintf("%s#%d", source, n)
		j, err := yaml.YAMLToJSONStrict(chunk)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		j = bytes.TrimSpace(j)
		if len(j) == 0 || string(j) == "null" {
			n--
			continue
		}
		if isCRD(j) {
			d, err := decodeCRD(src, j)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", src, err)
			}
			docs = append(docs, d)
			continue
		}
		d := &Document{Source: src}
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.DisallowUnknownFields()
		if err := dec.Decode(d); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		if err := d.resolve(); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		if string(bytes.TrimSpace(d.Spec)) == "null" {
			d.Spec = nil
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// splitYAML cuts a stream at document separators ("---" lines).
func splitYAML(data []byte) [][]byte {
	var out [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "---") && strings.TrimSpace(strings.TrimPrefix(line, "---")) == "" {
			out = append(out, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	out = append(out, append([]byte(nil), cur.Bytes()...))
	return out
}

// normalize renders a spec as canonical JSON by a round trip through the
// kind's wire type, so equal specs compare equal however they were written.
func normalize(kind appmesh.Kind, spec json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(spec)) == 0 {
		spec = json.RawMessage("{}")
	}
	v := kind.NewSpec()
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}
