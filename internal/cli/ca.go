package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// CACommands returns `trellis ca` (show, rotate, import) and `trellis
// token` (create, list, revoke), clients of the server's CA admin API.
func CACommands() []*cobra.Command {
	def := os.Getenv("TRELLIS_ENDPOINT")
	if def == "" {
		def = DefaultEndpoint
	}
	var endpoint string
	caCmd := &cobra.Command{Use: "ca", Short: "Show, rotate or import the built-in certificate authority"}
	caCmd.AddCommand(caShowCommand(&endpoint), caRotateCommand(&endpoint), caImportCommand(&endpoint))
	tokCmd := &cobra.Command{Use: "token", Short: "Create, list or revoke join tokens for sidecar enrolment"}
	tokCmd.AddCommand(tokenCreateCommand(&endpoint), tokenListCommand(&endpoint), tokenRevokeCommand(&endpoint))
	for _, c := range []*cobra.Command{caCmd, tokCmd} {
		c.PersistentFlags().StringVar(&endpoint, "endpoint", def, "Trellis API endpoint (env TRELLIS_ENDPOINT)")
	}
	return []*cobra.Command{caCmd, tokCmd}
}

func caShowCommand(endpoint *string) *cobra.Command {
	var bundle bool
	c := &cobra.Command{
		Use:   "show [--bundle]",
		Short: "Show the trust domain and the CA certificates (or print the PEM trust bundle)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var info enrol.CAInfo
			if err := call(cmd, *endpoint, http.MethodGet, enrol.AdminCAPath, nil, &info); err != nil {
				return err
			}
			if bundle {
				_, err := io.WriteString(cmd.OutOrStdout(), info.TrustBundle)
				return err
			}
			return printCA(cmd.OutOrStdout(), info)
		},
	}
	c.Flags().BoolVar(&bundle, "bundle", false, "print the PEM trust bundle only")
	return c
}

func printCA(w io.Writer, info enrol.CAInfo) error {
	fmt.Fprintf(w, "trust domain: %s\ncertificate lifetime: %s\n\n", info.TrustDomain, info.SVIDTTL)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tSUBJECT\tNOT AFTER\tRETIRE AFTER\tSHA256")
	for _, a := range info.Authorities {
		state := "trusted"
		if a.Active {
			state = "active"
		}
		if a.Imported {
			state += ",imported"
		}
		retire := "-"
		if a.RetireAfter != nil {
			retire = a.RetireAfter.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", state, a.Subject, a.NotAfter.UTC().Format(time.RFC3339), retire, a.SHA256[:16])
	}
	return tw.Flush()
}

func caRotateCommand(endpoint *string) *cobra.Command {
	var req enrol.RotateRequest
	c := &cobra.Command{
		Use:   "rotate [--immediate]",
		Short: "Rotate to a new root: trusted at once, signing after half a certificate lifetime",
		Long: "Adds a new generated root to the trust bundle at once; it starts signing after half a certificate\n" +
			"lifetime, when every sidecar has renewed and fetched the new bundle, and the old root stays trusted\n" +
			"until its last certificate expires, so no connection fails. --immediate switches at once (after a\n" +
			"key compromise); proxies holding old certificates then fail until they renew.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var info enrol.CAInfo
			if err := call(cmd, *endpoint, http.MethodPost, enrol.AdminRotatePath, req, &info); err != nil {
				return err
			}
			return printCA(cmd.OutOrStdout(), info)
		},
	}
	c.Flags().BoolVar(&req.Immediate, "immediate", false, "switch to the new root now and stop trusting the old ones")
	return c
}

func caImportCommand(endpoint *string) *cobra.Command {
	var chainFile, keyFile string
	var immediate bool
	c := &cobra.Command{
		Use:   "import --cert-chain FILE --key FILE [--immediate]",
		Short: "Sign with an external root or intermediate (PEM chain up to the root, and its key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			chain, err := os.ReadFile(chainFile)
			if err != nil {
				return err
			}
			key, err := os.ReadFile(keyFile)
			if err != nil {
				return err
			}
			var info enrol.CAInfo
			req := enrol.ImportRequest{CertificateChain: string(chain), PrivateKey: string(key), Immediate: immediate}
			if err := call(cmd, *endpoint, http.MethodPost, enrol.AdminImportPath, req, &info); err != nil {
				return err
			}
			return printCA(cmd.OutOrStdout(), info)
		},
	}
	c.Flags().StringVar(&chainFile, "cert-chain", "", "PEM file: the CA certificate, then its issuers up to the self-signed root")
	c.Flags().StringVar(&keyFile, "key", "", "PEM file: the private key of the CA certificate")
	c.Flags().BoolVar(&immediate, "immediate", false, "sign with it now and stop trusting the old roots")
	c.MarkFlagRequired("cert-chain")
	c.MarkFlagRequired("key")
	return c
}

// call is one request to the CA admin API.
func call(cmd *cobra.Command, endpoint, method, path string, body, out any) error {
	c, err := newClient(endpoint)
	if err != nil {
		return err
	}
	return c.do(cmd.Context(), method, path, url.Values(nil), body, out)
}
