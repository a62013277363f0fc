package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// The ACM stand-in's admin API (internal/acm; the CLI talks to it over
// the network like any client, so its wire shapes are repeated here and
// pinned by TestACMCommands against the real server).
const (
	acmPathCertificates = "/trellis/acm/certificates"
	acmPathCAs          = "/trellis/acm/certificate-authorities"
	acmPathList         = "/trellis/acm"
	acmPathRequests     = "/trellis/acm/requests"
)

type acmEntry struct {
	ARN      string    `json:"arn"`
	Kind     string    `json:"kind"`
	NotAfter time.Time `json:"notAfter,omitzero"`
	Updated  time.Time `json:"updated"`
	Revision int64     `json:"revision"`
}

// ACMCommand returns `trellis acm`: import certificates under ACM ARNs and
// register ACM-PCA CA bundles, so App Mesh specs naming them resolve to
// real certificates (docs/acm.md).
func ACMCommand() *cobra.Command {
	endpoint := os.Getenv("TRELLIS_ENDPOINT")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	c := &cobra.Command{
		Use:   "acm",
		Short: "Certificates under ACM and ACM-PCA ARNs, served to Envoy over SDS (the ACM stand-in)",
	}
	c.PersistentFlags().StringVar(&endpoint, "endpoint", endpoint, "Trellis API endpoint (env TRELLIS_ENDPOINT)")
	c.AddCommand(acmImportCommand(&endpoint), acmRegisterCACommand(&endpoint), acmListCommand(&endpoint), acmDeleteCommand(&endpoint), acmRequestCommand(&endpoint))
	return c
}

func acmImportCommand(ep *string) *cobra.Command {
	var arn, cert, key, chain string
	c := &cobra.Command{
		Use:   "import --arn ARN --cert cert.pem --key key.pem [--chain chain.pem]",
		Short: "Import (or replace) a certificate and its private key under an ACM certificate ARN",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]string{"arn": arn}
			for field, path := range map[string]string{"certificate": cert, "privateKey": key, "chain": chain} {
				if path == "" {
					continue
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				body[field] = string(b)
			}
			var e acmEntry
			if err := acmCall(commandContext(cmd), *ep, http.MethodPost, acmPathCertificates, nil, body, &e); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s (expires %s)\n", e.ARN, e.NotAfter.Format(time.RFC3339))
			return nil
		},
	}
	c.Flags().StringVar(&arn, "arn", "", "arn:aws:acm:<region>:<account>:certificate/<id>")
	c.Flags().StringVar(&cert, "cert", "", "PEM file of the certificate")
	c.Flags().StringVar(&key, "key", "", "PEM file of its private key (sealed at rest by the server)")
	c.Flags().StringVar(&chain, "chain", "", "PEM file of the intermediate certificates (optional)")
	for _, f := range []string{"arn", "cert", "key"} {
		_ = c.MarkFlagRequired(f)
	}
	return c
}

func acmRegisterCACommand(ep *string) *cobra.Command {
	var arn, bundle string
	c := &cobra.Command{
		Use:   "register-ca --arn ARN --bundle ca.pem",
		Short: "Register (or replace) the CA bundle of an ACM-PCA certificate authority ARN",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(bundle)
			if err != nil {
				return err
			}
			var e acmEntry
			if err := acmCall(commandContext(cmd), *ep, http.MethodPost, acmPathCAs, nil, map[string]string{"arn": arn, "bundle": string(b)}, &e); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registered %s\n", e.ARN)
			return nil
		},
	}
	c.Flags().StringVar(&arn, "arn", "", "arn:aws:acm-pca:<region>:<account>:certificate-authority/<id>")
	c.Flags().StringVar(&bundle, "bundle", "", "PEM file of the CA certificate(s)")
	_ = c.MarkFlagRequired("arn")
	_ = c.MarkFlagRequired("bundle")
	return c
}

func acmRequestCommand(ep *string) *cobra.Command {
	var arn string
	var domains []string
	c := &cobra.Command{
		Use:   "request --arn ARN --domain NAME [--domain NAME...]",
		Short: "Have the built-in CA issue a certificate under an ACM certificate ARN (renewed at half-life)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var e acmEntry
			body := map[string]any{"arn": arn, "domains": domains}
			if err := acmCall(commandContext(cmd), *ep, http.MethodPost, acmPathRequests, nil, body, &e); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "issued %s (expires %s, renewed at half-life)\n", e.ARN, e.NotAfter.Format(time.RFC3339))
			return nil
		},
	}
	c.Flags().StringVar(&arn, "arn", "", "arn:aws:acm:<region>:<account>:certificate/<id>")
	c.Flags().StringArrayVar(&domains, "domain", nil, "DNS name the certificate is for (repeatable)")
	_ = c.MarkFlagRequired("arn")
	_ = c.MarkFlagRequired("domain")
	return c
}

func acmListCommand(ep *string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the imported certificates and registered CAs (never a key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var es []acmEntry
			if err := acmCall(commandContext(cmd), *ep, http.MethodGet, acmPathList, nil, nil, &es); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ARN\tKIND\tEXPIRES\tUPDATED")
			for _, e := range es {
				exp := "-"
				if !e.NotAfter.IsZero() {
					exp = e.NotAfter.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ARN, e.Kind, exp, e.Updated.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
}

func acmDeleteCommand(ep *string) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ARN",
		Short: "Delete a certificate or CA bundle; TLS naming it stops being served",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{"arn": {args[0]}}
			if err := acmCall(commandContext(cmd), *ep, http.MethodDelete, acmPathList, q, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
}

// acmCall sends body as JSON to the admin API at path, signed like every
// CLI call, and decodes the answer into out (when set).
func acmCall(ctx context.Context, endpoint, method, path string, query url.Values, body, out any) error {
	cl, err := newClient(endpoint)
	if err != nil {
		return err
	}
	return cl.do(ctx, method, path, query, body, out)
}
