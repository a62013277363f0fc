package cli

import (
	"bytes"
	"encoding/json"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

func describeCommand(o *options) *cobra.Command {
	var t target
	c := &cobra.Command{
		Use:   "describe KIND NAME --mesh M [--router R|--gateway G]",
		Short: "Show one resource (metadata, spec, status) as human-readable YAML",
		Long:  "Show one resource (metadata, spec, status) as human-readable YAML.\n\n" + kindsHelp,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := t.identity(args[0], args[1])
			if err != nil {
				return err
			}
			cl, err := o.client()
			if err != nil {
				return err
			}
			ctx := commandContext(cmd)
			raw, err := cl.describe(ctx, id)
			if err != nil {
				return err
			}
			y, err := describeYAML(raw)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(y)
			return err
		},
	}
	t.flags(c)
	return c
}

// describeYAML renders a <Kind>Data object as YAML with the metadata's
// epoch-seconds timestamps rewritten as RFC 3339 (ISO 8601) UTC.
func describeYAML(raw []byte) ([]byte, error) {
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return nil, err
	}
	if md, ok := data["metadata"].(map[string]any); ok {
		for _, k := range []string{"createdAt", "lastUpdatedAt"} {
			if v, ok := md[k]; ok {
				if s := when(v); s != "" {
					md[k] = s
				}
			}
		}
	}
	j, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(j)
}
