package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

func exportCommand(o *options) *cobra.Command {
	var mesh string
	c := &cobra.Command{
		Use:   "export --mesh M",
		Short: "Print every resource of a mesh as apply-able multi-document YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if mesh == "" {
				return errors.New("--mesh is required")
			}
			cl, err := o.client()
			if err != nil {
				return err
			}
			ctx := commandContext(cmd)
			ids, err := meshResources(ctx, cl, mesh)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			for i, id := range ids {
				raw, err := cl.describe(ctx, id)
				if err != nil {
					return fmt.Errorf("%s: %w", label(id), err)
				}
				var data resourceData
				if err := jsonUnmarshal(raw, &data); err != nil {
					return err
				}
				if i > 0 {
					buf.WriteString("---\n")
				}
				if err := writeDocument(&buf, id, data.Spec); err != nil {
					return fmt.Errorf("%s: %w", label(id), err)
				}
			}
			_, err = cmd.OutOrStdout().Write(buf.Bytes())
			return err
		},
	}
	c.Flags().StringVar(&mesh, "mesh", "", "mesh name")
	return c
}

// meshResources lists the identities of every resource of the mesh, in
// dependency order, names sorted within a kind.
func meshResources(ctx context.Context, cl *client, mesh string) ([]appmesh.Identity, error) {
	ids := []appmesh.Identity{{Kind: appmesh.KindMesh, Mesh: mesh}}
	if _, err := cl.describe(ctx, ids[0]); err != nil {
		return nil, err
	}
	names := func(kind appmesh.Kind, parent string) ([]string, error) {
		refs, err := cl.list(ctx, kind, mesh, parent)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, r := range refs {
			out = append(out, str(r[kind.NameKey()]))
		}
		sort.Strings(out)
		return out, nil
	}
	parents := map[appmesh.Kind][]string{}
	for _, kind := range appmesh.Kinds[1:] {
		pk := kind.Parent()
		if pk == 0 {
			ns, err := names(kind, "")
			if err != nil {
				return nil, err
			}
			parents[kind] = ns
			for _, n := range ns {
				ids = append(ids, appmesh.Identity{Kind: kind, Mesh: mesh, Name: n})
			}
			continue
		}
		for _, p := range parents[pk] {
			ns, err := names(kind, p)
			if err != nil {
				return nil, err
			}
			for _, n := range ns {
				ids = append(ids, appmesh.Identity{Kind: kind, Mesh: mesh, Parent: p, Name: n})
			}
		}
	}
	return ids, nil
}

// writeDocument renders one document: kind, names, then the canonical spec.
func writeDocument(buf *bytes.Buffer, id appmesh.Identity, spec []byte) error {
	scalar := func(k, v string) error {
		b, err := yaml.Marshal(map[string]string{k: v})
		if err != nil {
			return err
		}
		buf.Write(b)
		return nil
	}
	lines := [][2]string{{"kind", id.Kind.String()}, {"meshName", id.Mesh}}
	if p := id.Kind.Parent(); p != 0 {
		lines = append(lines, [2]string{p.NameKey(), id.Parent})
	}
	if id.Kind != appmesh.KindMesh {
		lines = append(lines, [2]string{id.Kind.NameKey(), id.Name})
	}
	for _, l := range lines {
		if err := scalar(l[0], l[1]); err != nil {
			return err
		}
	}
	norm, err := normalize(id.Kind, spec)
	if err != nil {
		return err
	}
	if string(norm) == "{}" {
		buf.WriteString("spec: {}\n")
		return nil
	}
	y, err := yaml.JSONToYAML(norm)
	if err != nil {
		return err
	}
	buf.WriteString("spec:\n")
	for _, line := range strings.SplitAfter(strings.TrimRight(string(y), "\n"), "\n") {
		buf.WriteString("  " + line)
	}
	buf.WriteString("\n")
	return nil
}
