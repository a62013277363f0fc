package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/auth/audit"
)

// auditOptions are the flags of `trellis audit`.
type auditOptions struct {
	dir, since, until       string
	principal, event, resrc string
	output                  string
}

// AuditCommand returns `trellis audit`, which reads the server's audit log
// files locally (it needs read access to the audit directory, not the API).
// now is the clock that --since/--until durations count back from; nil means
// time.Now.
func AuditCommand(now func() time.Time) *cobra.Command {
	if now == nil {
		now = time.Now
	}
	var o auditOptions
	c := &cobra.Command{
		Use:   "audit --dir DIR [--since 1h|RFC3339] [--until ...] [--principal ARN|AKID] [--event NAME] [--resource TEXT] [-o table|json]",
		Short: "Query the audit log (who called what, when, from where, with what result)",
		Long: "Reads the CloudTrail-shaped audit files of a Trellis server from --dir (env TRELLIS_AUDIT_DIR) and prints\n" +
			"the records that match, oldest first: -o table (default) or -o json (one CloudTrail record per line).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := o.filter(now())
			if err != nil {
				return err
			}
			return runAudit(cmd.OutOrStdout(), o, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.dir, "dir", os.Getenv("TRELLIS_AUDIT_DIR"), "audit log directory (env TRELLIS_AUDIT_DIR)")
	fl.StringVar(&o.since, "since", "", "records at or after: a duration back from now (1h, 30m) or an RFC 3339 time")
	fl.StringVar(&o.until, "until", "", "records before: a duration back from now or an RFC 3339 time")
	fl.StringVar(&o.principal, "principal", "", "principal ARN or access key id, exactly")
	fl.StringVar(&o.event, "event", "", "event (operation) name, e.g. UpdateRoute")
	fl.StringVar(&o.resrc, "resource", "", "text contained in a resource ARN or in the request parameters, e.g. mesh/shop")
	fl.StringVarP(&o.output, "output", "o", "table", "table or json")
	return c
}

func (o auditOptions) filter(now time.Time) (audit.Filter, error) {
	f := audit.Filter{Principal: o.principal, EventName: o.event, Resource: o.resrc}
	if o.dir == "" {
		return f, errors.New("--dir is required (or set TRELLIS_AUDIT_DIR)")
	}
	if o.output != "table" && o.output != "json" {
		return f, fmt.Errorf("-o %q: want table or json", o.output)
	}
	var err error
	if f.Start, err = parseWhen(o.since, now); err != nil {
		return f, fmt.Errorf("--since: %w", err)
	}
	if f.End, err = parseWhen(o.until, now); err != nil {
		return f, fmt.Errorf("--until: %w", err)
	}
	return f, nil
}

// parseWhen reads a duration back from now (1h) or an RFC 3339 time; "" is
// the zero time (no bound).
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: want a positive duration", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want a duration (1h, 30m) or an RFC 3339 time (2026-12-06T21:00:00Z)", s)
	}
	return t, nil
}

func runAudit(out io.Writer, o auditOptions, f audit.Filter) error {
	if st, err := os.Stat(o.dir); err != nil || !st.IsDir() {
		return fmt.Errorf("--dir %s: not a readable directory", o.dir)
	}
	if o.output == "json" {
		enc := json.NewEncoder(out)
		return audit.Query(o.dir, f, func(r audit.Record) error { return enc.Encode(&r) })
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tPRINCIPAL\tSOURCE IP\tRESOURCE\tRESULT")
	err := audit.Query(o.dir, f, func(r audit.Record) error {
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.EventTime, r.EventName, principalOf(r.UserIdentity),
			dash(r.SourceIPAddress), resourceOf(r), resultOf(r))
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func principalOf(u audit.UserIdentity) string {
	switch {
	case u.ARN != "":
		return u.ARN
	case u.AccessKeyID != "":
		return u.AccessKeyID
	}
	return "anonymous"
}

func resourceOf(r audit.Record) string {
	if len(r.Resources) > 0 {
		return r.Resources[0].ARN
	}
	return "-"
}

func resultOf(r audit.Record) string {
	if r.ErrorCode != "" {
		return r.ErrorCode
	}
	return "OK"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
