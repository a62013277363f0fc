package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

func tokenCreateCommand(endpoint *string) *cobra.Command {
	var req enrol.TokenRequest
	c := &cobra.Command{
		Use:   "create --mesh M (--node N | --node-pattern 'web-*') [--ttl 1h] [--single-use]",
		Short: "Create a join token; it is printed once (stdout) and stored only hashed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var tok enrol.TokenCreated
			if err := call(cmd, *endpoint, http.MethodPost, enrol.AdminTokensPath, req, &tok); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "join token %s for mesh %s, %s, expires %s%s\n", tok.ID, tok.Mesh,
				scope(tok.TokenInfo), tok.Expires.UTC().Format(time.RFC3339), map[bool]string{true: ", single use"}[tok.SingleUse])
			_, err := fmt.Fprintln(cmd.OutOrStdout(), tok.Token)
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&req.Mesh, "mesh", "", "mesh the token enrols into")
	f.StringVar(&req.Node, "node", "", "the one virtual node or gateway name it may enrol")
	f.StringVar(&req.NodePattern, "node-pattern", "", "names it may enrol, as a glob (web-*)")
	f.StringVar(&req.TTL, "ttl", "1h", "how long the token is valid")
	f.BoolVar(&req.SingleUse, "single-use", false, "the token enrols once, then is consumed")
	c.MarkFlagRequired("mesh")
	c.MarkFlagsMutuallyExclusive("node", "node-pattern")
	c.MarkFlagsOneRequired("node", "node-pattern")
	return c
}

func scope(t enrol.TokenInfo) string {
	if t.Node != "" {
		return "node " + t.Node
	}
	return "nodes " + t.NodePattern
}

func tokenListCommand(endpoint *string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List live join tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list enrol.TokenList
			if err := call(cmd, *endpoint, http.MethodGet, enrol.AdminTokensPath, nil, &list); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tMESH\tSCOPE\tSINGLE USE\tEXPIRES")
			for _, t := range list.Tokens {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", t.ID, t.Mesh, scope(t), t.SingleUse, t.Expires.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
}

func tokenRevokeCommand(endpoint *string) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a join token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := call(cmd, *endpoint, http.MethodDelete, enrol.AdminTokensPath+"/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return err
		},
	}
}
