package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// adminPrefix is where the server serves the admin API (auth.AdminPathPrefix;
// the CLI talks to it over the network and does not import auth).
const adminPrefix = "/trellis-admin/v1/"

// adminCall is one admin verb: the action it calls and how args fill the body.
type adminCall struct {
	use, short, action string
	args               int
	body               func(args []string) map[string]any
}

// adminCommand is `trellis admin`: access keys, principals and policies,
// through the authenticated admin API (SigV4 service "trellis").
func adminCommand(o *options) *cobra.Command {
	root := &cobra.Command{
		Use:   "admin",
		Short: "Manage principals, access keys and policies (signed with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)",
	}
	arn := func(a []string) map[string]any { return map[string]any{"PrincipalArn": a[0]} }
	akid := func(status string) func([]string) map[string]any {
		return func(a []string) map[string]any {
			m := map[string]any{"AccessKeyId": a[0]}
			if status != "" {
				m["Status"] = status
			}
			return m
		}
	}
	for _, c := range []adminCall{
		{"create-principal ARN", "Create a user or role: arn:aws:iam::<account>:user/<name> or role/<name>", "CreatePrincipal", 1, arn},
		{"list-principals", "List principals and their policy names", "ListPrincipals", 0, nil},
		{"list-keys [PRINCIPAL_ARN]", "List access keys (never secrets), of one principal or all", "ListAccessKeys", -1, nil},
		{"disable-key ACCESS_KEY_ID", "Make a key Inactive: its requests fail with UnrecognizedClientException", "UpdateAccessKey", 1, akid("Inactive")},
		{"enable-key ACCESS_KEY_ID", "Make a key Active again", "UpdateAccessKey", 1, akid("Active")},
		{"delete-key ACCESS_KEY_ID", "Delete a key", "DeleteAccessKey", 1, akid("")},
		{"list-policies PRINCIPAL_ARN", "Show the policies attached to a principal", "ListPrincipalPolicies", 1, arn},
	} {
		root.AddCommand(adminVerb(o, c))
	}
	root.AddCommand(createKeyCommand(o), attachPolicyCommand(o), detachPolicyCommand(o))
	return root
}

func adminVerb(o *options, c adminCall) *cobra.Command {
	args := cobra.ExactArgs(c.args)
	if c.args < 0 {
		args = cobra.MaximumNArgs(1)
	}
	return &cobra.Command{
		Use: c.use, Short: c.short, Args: args,
		RunE: func(cmd *cobra.Command, a []string) error {
			body := map[string]any{}
			if c.body != nil {
				body = c.body(a)
			} else if len(a) == 1 {
				body["PrincipalArn"] = a[0]
			}
			return o.admin(cmd, c.action, body)
		},
	}
}

func createKeyCommand(o *options) *cobra.Command {
	var duration time.Duration
	c := &cobra.Command{
		Use:   "create-key PRINCIPAL_ARN [--duration 1h]",
		Short: "Create an access key; the secret is shown once. --duration makes temporary credentials with a session token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return o.admin(cmd, "CreateAccessKey", map[string]any{"PrincipalArn": a[0], "DurationSeconds": int64(duration / time.Second)})
		},
	}
	c.Flags().DurationVar(&duration, "duration", 0, "lifetime of temporary credentials (0: a long-term key)")
	return c
}

func attachPolicyCommand(o *options) *cobra.Command {
	var name, file string
	c := &cobra.Command{
		Use:   "attach-policy PRINCIPAL_ARN --name NAME --file policy.json",
		Short: "Attach (or replace) a named IAM policy document (- reads stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			var doc []byte
			var err error
			if file == "-" {
				doc, err = io.ReadAll(cmd.InOrStdin())
			} else {
				doc, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("read policy: %w", err)
			}
			return o.admin(cmd, "PutPrincipalPolicy", map[string]any{"PrincipalArn": a[0], "PolicyName": name, "PolicyDocument": string(doc)})
		},
	}
	c.Flags().StringVar(&name, "name", "", "policy name")
	c.Flags().StringVar(&file, "file", "", "policy document (JSON), - for stdin")
	c.MarkFlagRequired("name")
	c.MarkFlagRequired("file")
	return c
}

func detachPolicyCommand(o *options) *cobra.Command {
	var name string
	c := &cobra.Command{
		Use:   "detach-policy PRINCIPAL_ARN --name NAME",
		Short: "Detach a named policy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return o.admin(cmd, "DeletePrincipalPolicy", map[string]any{"PrincipalArn": a[0], "PolicyName": name})
		},
	}
	c.Flags().StringVar(&name, "name", "", "policy name")
	c.MarkFlagRequired("name")
	return c
}

// admin calls one admin action and prints the JSON answer (nothing for an
// empty one).
func (o *options) admin(cmd *cobra.Command, action string, body map[string]any) error {
	cl, err := o.client()
	if err != nil {
		return err
	}
	cl.service = "trellis"
	var out map[string]any
	if err := cl.do(commandContext(cmd), http.MethodPost, adminPrefix+action, nil, body, &out); err != nil {
		return err
	}
	if len(out) == 0 {
		return nil
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintln(cmd.OutOrStdout(), strings.TrimSpace(string(b)))
	return nil
}
