package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// DefaultEndpoint is where the CLI looks for the server unless told
// otherwise by --endpoint or TRELLIS_ENDPOINT.
const DefaultEndpoint = "http://127.0.0.1:9080"

// APIError is an App Mesh error as the server sent it: the type from the
// X-Amzn-ErrorType header and the message from the body.
type APIError struct {
	Status  int
	Type    string
	Message string
}

func (e *APIError) Error() string { return e.Type + ": " + e.Message }

// isNotFound reports whether err is the server's NotFoundException.
func isNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Type == "NotFoundException"
}

// client is a tiny App Mesh REST client.
type client struct {
	base string
	http *http.Client
	signing
}

func newClient(endpoint string) (*client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid endpoint %q: want http(s)://host:port", endpoint)
	}
	sg, err := newSigning("appmesh")
	if err != nil {
		return nil, err
	}
	return &client{base: strings.TrimRight(endpoint, "/"), http: &http.Client{Timeout: 30 * time.Second}, signing: sg}, nil
}

// collection is the URI of the kind's collection in mesh (under parent for
// routes and gateway routes).
func collection(kind appmesh.Kind, mesh, parent string) string {
	if kind == appmesh.KindMesh {
		return "/v20190125/meshes"
	}
	p := "/v20190125/meshes/" + url.PathEscape(mesh)
	if pk := kind.Parent(); pk != 0 {
		p += "/" + pk.ARNSegment() + "/" + url.PathEscape(parent)
	}
	return p + "/" + kind.ListKey()
}

// resourcePath is the URI of one resource.
func resourcePath(id appmesh.Identity) string {
	if id.Kind == appmesh.KindMesh {
		return "/v20190125/meshes/" + url.PathEscape(id.Mesh)
	}
	return collection(id.Kind, id.Mesh, id.Parent) + "/" + url.PathEscape(id.Name)
}

// do sends one request and decodes a 2xx JSON body into out (if not nil).
func (c *client) do(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	var rd io.Reader
	var raw []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd, raw = bytes.NewReader(b), b
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := c.sign(req, raw); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return unreachable(c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Status: resp.StatusCode, Type: resp.Header.Get("X-Amzn-ErrorType")}
		if i := strings.IndexByte(ae.Type, ':'); i >= 0 {
			ae.Type = ae.Type[:i]
		}
		var m struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &m) == nil {
			ae.Message = m.Message
		}
		if ae.Type == "" {
			ae.Type = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		if ae.Message == "" {
			ae.Message = strings.TrimSpace(string(data))
		}
		return ae
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding response: %w", method, path, err)
	}
	return nil
}

// resourceData is the bare <Kind>Data object of a Describe/Create/Update.
type resourceData struct {
	Spec     json.RawMessage          `json:"spec"`
	Metadata appmesh.ResourceMetadata `json:"metadata"`
	Status   appmesh.ResourceStatus   `json:"status"`
}

// describe returns the raw <Kind>Data JSON of one resource.
func (c *client) describe(ctx context.Context, id appmesh.Identity) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, resourcePath(id), nil, nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

func token() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// create sends Create<Kind> with the spec and tags.
func (c *client) create(ctx context.Context, id appmesh.Identity, spec json.RawMessage, tags []appmesh.TagRef) error {
	body := map[string]any{"clientToken": token()}
	nameKey := id.Kind.NameKey()
	if id.Kind == appmesh.KindMesh {
		body[nameKey] = id.Mesh
	} else {
		body[nameKey] = id.Name
	}
	if len(spec) > 0 {
		body["spec"] = spec
	} else if id.Kind != appmesh.KindMesh {
		body["spec"] = json.RawMessage("{}")
	}
	if len(tags) > 0 {
		body["tags"] = tags
	}
	return c.do(ctx, http.MethodPut, collection(id.Kind, id.Mesh, id.Parent), nil, body, nil)
}

// update sends Update<Kind> with the spec (replacing the old one).
func (c *client) update(ctx context.Context, id appmesh.Identity, spec json.RawMessage) error {
	if len(spec) == 0 {
		spec = json.RawMessage("{}")
	}
	body := map[string]any{"clientToken": token(), "spec": spec}
	return c.do(ctx, http.MethodPut, resourcePath(id), nil, body, nil)
}

// remove sends Delete<Kind>.
func (c *client) remove(ctx context.Context, id appmesh.Identity) error {
	return c.do(ctx, http.MethodDelete, resourcePath(id), nil, nil, nil)
}

// list returns every <Kind>Ref of the collection, following nextToken.
func (c *client) list(ctx context.Context, kind appmesh.Kind, mesh, parent string) ([]map[string]any, error) {
	var all []map[string]any
	q := url.Values{}
	for {
		var page map[string]json.RawMessage
		if err := c.do(ctx, http.MethodGet, collection(kind, mesh, parent), q, nil, &page); err != nil {
			return nil, err
		}
		var items []map[string]any
		if raw, ok := page[kind.ListKey()]; ok {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&items); err != nil {
				return nil, fmt.Errorf("decoding %s list: %w", kind.ListKey(), err)
			}
		}
		all = append(all, items...)
		var next string
		if raw, ok := page["nextToken"]; ok {
			_ = json.Unmarshal(raw, &next)
		}
		if next == "" {
			return all, nil
		}
		q.Set("nextToken", next)
	}
}

// options are the flags every CLI verb shares.
type options struct {
	endpoint string
}

func (o *options) client() (*client, error) { return newClient(o.endpoint) }

// commandContext is the command's context; cobra leaves it nil when the
// root was started with Execute rather than ExecuteContext.
func commandContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// Commands returns the CLI verbs (apply, diff, get, describe, delete,
// export), each with the --endpoint flag (env TRELLIS_ENDPOINT, default
// DefaultEndpoint).
func Commands() []*cobra.Command {
	def := os.Getenv("TRELLIS_ENDPOINT")
	if def == "" {
		def = DefaultEndpoint
	}
	cmds := []*cobra.Command{}
	for _, mk := range []func(*options) *cobra.Command{applyCommand, diffCommand, getCommand, describeCommand, deleteCommand, exportCommand, adminCommand, topCommand} {
		o := &options{}
		c := mk(o)
		c.PersistentFlags().StringVar(&o.endpoint, "endpoint", def, "Trellis API endpoint (env TRELLIS_ENDPOINT)")
		cmds = append(cmds, c)
	}
	return cmds
}

func jsonUnmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	return nil
}
