package cli

import (
	"bytes"
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func applyCommand(o *options) *cobra.Command {
	var files []string
	c := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or update App Mesh resources from YAML/JSON documents",
		Long: `Apply creates or updates every document of the given files, directories
(*.yaml, *.yml, *.json) or stdin (-), in dependency order: Mesh,
VirtualNode, VirtualRouter, Route, VirtualService, VirtualGateway,
GatewayRoute. A resource whose spec already matches is left unchanged.
Tags are set on create only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			docs, err := loadOrdered(files, cmd.InOrStdin(), false)
			if err != nil {
				return err
			}
			cl, err := o.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, d := range docs {
				result, err := applyOne(commandContext(cmd), cl, d)
				if err != nil {
					return fmt.Errorf("%s (%s): %w", label(d.ID), d.Source, err)
				}
				fmt.Fprintf(out, "%s %s\n", label(d.ID), result)
			}
			return nil
		},
	}
	c.Flags().StringArrayVarP(&files, "filename", "f", nil, "file, directory or - (stdin); repeatable")
	return c
}

// applyOne creates the document's resource if absent, updates it if its
// spec differs and reports what it did.
func applyOne(ctx context.Context, cl *client, d *Document) (string, error) {
	raw, err := cl.describe(ctx, d.ID)
	if isNotFound(err) {
		if err := cl.create(ctx, d.ID, d.Spec, d.Tags); err != nil {
			return "", err
		}
		return "created", nil
	}
	if err != nil {
		return "", err
	}
	var cur resourceData
	if err := jsonUnmarshal(raw, &cur); err != nil {
		return "", err
	}
	have, err1 := normalize(d.ID.Kind, cur.Spec)
	want, err2 := normalize(d.ID.Kind, d.Spec)
	if err1 == nil && err2 == nil && bytes.Equal(have, want) {
		return "unchanged", nil
	}
	if err := cl.update(ctx, d.ID, d.Spec); err != nil {
		return "", err
	}
	return "updated", nil
}
