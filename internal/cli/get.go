package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// target is what --mesh/--router/--gateway and a KIND [NAME] name.
type target struct {
	mesh, router, gateway string
}

// identity resolves KIND and NAME (empty for a list) against the flags.
func (t *target) identity(kindArg, name string) (appmesh.Identity, error) {
	kind, ok := kindByName(kindArg)
	if !ok {
		return appmesh.Identity{}, fmt.Errorf("unknown kind %q: want mesh, virtualnode (vn), virtualservice (vs), virtualrouter (vr), route, virtualgateway (vg) or gatewayroute (gr)", kindArg)
	}
	id := appmesh.Identity{Kind: kind, Mesh: t.mesh, Name: name}
	if kind == appmesh.KindMesh {
		id.Mesh, id.Name = name, ""
		return id, nil
	}
	if t.mesh == "" {
		return id, errors.New("--mesh is required")
	}
	switch kind.Parent() {
	case appmesh.KindVirtualRouter:
		if t.router == "" {
			return id, errors.New("--router is required for routes")
		}
		id.Parent = t.router
	case appmesh.KindVirtualGateway:
		if t.gateway == "" {
			return id, errors.New("--gateway is required for gateway routes")
		}
		id.Parent = t.gateway
	}
	return id, nil
}

func (t *target) flags(c *cobra.Command) {
	c.Flags().StringVar(&t.mesh, "mesh", "", "mesh name")
	c.Flags().StringVar(&t.router, "router", "", "virtual router name (routes)")
	c.Flags().StringVar(&t.gateway, "gateway", "", "virtual gateway name (gateway routes)")
}

func getCommand(o *options) *cobra.Command {
	var t target
	var output string
	c := &cobra.Command{
		Use:   "get KIND [NAME] --mesh M [--router R|--gateway G] [-o table|json|yaml]",
		Short: "List resources of a kind, or show one; `get proxies` shows each proxy's config status",
		Long: "List resources of a kind, or show one. Tables and -o json|yaml print times as RFC 3339 (UTC).\n\n" + kindsHelp + `

Examples:
  trellis get meshes
  trellis get vn --mesh shop
  trellis get route web --mesh shop --router web-router -o yaml
  trellis get proxies --mesh shop`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "table", "json", "yaml":
			default:
				return fmt.Errorf("-o %q: want table, json or yaml", output)
			}
			if isProxiesKind(args[0]) {
				cl, err := o.client()
				if err != nil {
					return err
				}
				return getProxies(commandContext(cmd), cl, cmd.OutOrStdout(), t.mesh, output)
			}
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			id, err := t.identity(args[0], name)
			if err != nil {
				return err
			}
			cl, err := o.client()
			if err != nil {
				return err
			}
			ctx := commandContext(cmd)
			out := cmd.OutOrStdout()
			if name != "" {
				if id.Kind == appmesh.KindMesh {
					id.Mesh = name
				}
				raw, err := cl.describe(ctx, id)
				if err != nil {
					return err
				}
				if output == "table" {
					var ref map[string]any
					if err := jsonUnmarshal(raw, &ref); err != nil {
						return err
					}
					md, _ := ref["metadata"].(map[string]any)
					for k, v := range md {
						ref[k] = v
					}
					return printTable(out, id, []map[string]any{ref})
				}
				return printTimes(out, raw, output)
			}
			refs, err := cl.list(ctx, id.Kind, id.Mesh, id.Parent)
			if err != nil {
				return err
			}
			key := id.Kind.NameKey()
			sort.SliceStable(refs, func(i, j int) bool { return str(refs[i][key]) < str(refs[j][key]) })
			if output == "table" {
				return printTable(out, id, refs)
			}
			if refs == nil {
				refs = []map[string]any{}
			}
			raw, err := json.Marshal(refs)
			if err != nil {
				return err
			}
			return printTimes(out, raw, output)
		},
	}
	t.flags(c)
	c.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	return c
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// printTable writes NAME MESH [ROUTER|GATEWAY] VERSION LAST-UPDATED.
func printTable(w io.Writer, id appmesh.Identity, rows []map[string]any) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	parent := id.Kind.Parent()
	head := "NAME\tMESH\t"
	if parent == appmesh.KindVirtualRouter {
		head += "ROUTER\t"
	} else if parent == appmesh.KindVirtualGateway {
		head += "GATEWAY\t"
	}
	fmt.Fprintln(tw, head+"VERSION\tLAST-UPDATED")
	for _, r := range rows {
		line := str(r[id.Kind.NameKey()]) + "\t" + str(r["meshName"]) + "\t"
		if parent != 0 {
			line += str(r[parent.NameKey()]) + "\t"
		}
		line += str(r["version"]) + "\t" + when(r["lastUpdatedAt"])
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// when renders an epoch-seconds timestamp as RFC 3339 UTC.
func when(v any) string {
	var f float64
	switch v := v.(type) {
	case json.Number:
		f, _ = v.Float64()
	case float64:
		f = v
	case string:
		f, _ = strconv.ParseFloat(v, 64)
	default:
		return ""
	}
	return time.UnixMilli(int64(f * 1000)).UTC().Format(time.RFC3339)
}

// printTimes is printDoc with RFC 3339 timestamps (readableTimes).
func printTimes(w io.Writer, raw []byte, output string) error {
	raw, err := readableTimes(raw)
	if err != nil {
		return err
	}
	return printDoc(w, raw, output)
}

// printDoc writes JSON as indented JSON or YAML.
func printDoc(w io.Writer, raw []byte, output string) error {
	if output == "yaml" {
		y, err := yaml.JSONToYAML(raw)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
