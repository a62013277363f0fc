package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

func deleteCommand(o *options) *cobra.Command {
	var t target
	var files []string
	c := &cobra.Command{
		Use:   "delete (KIND NAME --mesh M [--router R|--gateway G] | -f FILE|DIR|-)",
		Short: "Delete one resource, or every resource of the documents (reverse dependency order)",
		Args:  cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := commandContext(cmd)
			out := cmd.OutOrStdout()
			cl, err := o.client()
			if err != nil {
				return err
			}
			if len(files) > 0 {
				if len(args) > 0 {
					return errors.New("give either KIND NAME or -f, not both")
				}
				docs, err := loadOrdered(files, cmd.InOrStdin(), true)
				if err != nil {
					return err
				}
				for _, d := range docs {
					err := cl.remove(ctx, d.ID)
					switch {
					case isNotFound(err):
						fmt.Fprintf(out, "%s not found\n", label(d.ID))
					case err != nil:
						return fmt.Errorf("%s (%s): %w", label(d.ID), d.Source, err)
					default:
						fmt.Fprintf(out, "%s deleted\n", label(d.ID))
					}
				}
				return nil
			}
			if len(args) != 2 {
				return errors.New("want KIND NAME (or -f FILE)")
			}
			id, err := t.identity(args[0], args[1])
			if err != nil {
				return err
			}
			if id.Kind == appmesh.KindMesh {
				id.Mesh = args[1]
			}
			if err := cl.remove(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(out, "%s deleted\n", label(id))
			return nil
		},
	}
	t.flags(c)
	c.Flags().StringArrayVarP(&files, "filename", "f", nil, "file, directory or - (stdin); repeatable")
	return c
}
