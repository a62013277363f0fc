package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// signals mirrors the JSON of GET /v1/telemetry/signals, /edges and
// /services (docs/telemetry-api.md); the CLI decodes it like any other
// client.
type signals struct {
	GeneratedAt   time.Time        `json:"generatedAt"`
	WindowSeconds float64          `json:"windowSeconds"`
	Nodes         []signalsNode    `json:"nodes"`
	Edges         []signalsEdge    `json:"edges"`
	Services      []signalsService `json:"services"`
}

type signalsService struct {
	Mesh    string `json:"mesh"`
	Service string `json:"service"`
	Proxies int    `json:"proxies"`
	signalFigures
}

type signalFigures struct {
	RequestRate       float64  `json:"requestRate"`
	SuccessRate       *float64 `json:"successRate"`
	LatencyP50Ms      *float64 `json:"latencyP50Ms"`
	LatencyP99Ms      *float64 `json:"latencyP99Ms"`
	ActiveConnections float64  `json:"activeConnections"`
}

type signalsNode struct {
	Mesh    string `json:"mesh"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Proxies int    `json:"proxies"`
	signalFigures
}

type signalsEdge struct {
	Mesh        string `json:"mesh"`
	SourceKind  string `json:"sourceKind"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Proxies     int    `json:"proxies"`
	signalFigures
}

// topCommand is `trellis top`: the golden signals of every virtual node
// and gateway (or, with --edges, of every caller → callee edge; with
// --services, of every virtual service), redrawn every --interval until
// interrupted, or printed once with --once.
func topCommand(o *options) *cobra.Command {
	var mesh string
	var edges, services, once bool
	var interval time.Duration
	c := &cobra.Command{
		Use:   "top [--mesh M] [--edges | --services] [--interval 2s] [--once]",
		Short: "Live golden signals per virtual node and gateway, per edge, or per virtual service",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval <= 0 {
				return fmt.Errorf("--interval %v: want a positive duration", interval)
			}
			path := "/v1/telemetry/signals"
			switch {
			case edges && services:
				return fmt.Errorf("--edges and --services: choose one")
			case edges:
				path = "/v1/telemetry/edges"
			case services:
				path = "/v1/telemetry/services"
			}
			cl, err := o.client()
			if err != nil {
				return err
			}
			ctx := commandContext(cmd)
			out := cmd.OutOrStdout()
			for {
				if err := topOnce(ctx, cl, out, mesh, path, !once); err != nil {
					return err
				}
				if once {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	c.Flags().StringVar(&mesh, "mesh", "", "only this mesh")
	c.Flags().BoolVar(&edges, "edges", false, "show caller → callee edges instead of nodes")
	c.Flags().BoolVar(&services, "services", false, "show virtual services (as their callers measure them) instead of nodes")
	c.Flags().BoolVar(&once, "once", false, "print one table and exit")
	c.Flags().DurationVar(&interval, "interval", 2*time.Second, "refresh period")
	return c
}

// topOnce fetches path (signals, edges or services) and prints one table;
// clear first moves the cursor home and clears the terminal, so the table
// redraws in place.
func topOnce(ctx context.Context, cl *client, out io.Writer, mesh, path string, clear bool) error {
	var q url.Values
	if mesh != "" {
		q = url.Values{"mesh": {mesh}}
	}
	var s signals
	if err := cl.do(ctx, http.MethodGet, path, q, nil, &s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if clear {
		fmt.Fprint(out, "\033[H\033[2J")
	}
	fmt.Fprintf(out, "golden signals over the last %gs at %s\n\n", s.WindowSeconds, s.GeneratedAt.Local().Format(time.TimeOnly))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	switch path {
	case "/v1/telemetry/services":
		fmt.Fprintln(tw, "MESH\tSERVICE\tCALLERS\tRPS\tSUCCESS\tP50\tP99\tCONNS")
		for _, v := range s.Services {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", v.Mesh, v.Service, v.Proxies, v.signalFigures.row())
		}
	case "/v1/telemetry/edges":
		fmt.Fprintln(tw, "MESH\tSOURCE\tDESTINATION\tPROXIES\tRPS\tSUCCESS\tP50\tP99\tCONNS")
		for _, e := range s.Edges {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", e.Mesh, e.Source, e.Destination, e.Proxies, e.signalFigures.row())
		}
	default:
		fmt.Fprintln(tw, "MESH\tKIND\tNAME\tPROXIES\tRPS\tSUCCESS\tP50\tP99\tCONNS")
		for _, n := range s.Nodes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", n.Mesh, n.Kind, n.Name, n.Proxies, n.signalFigures.row())
		}
	}
	return tw.Flush()
}

// row formats the figures as tab-separated cells; "-" for unknown.
func (f signalFigures) row() string {
	return fmt.Sprintf("%.1f\t%s\t%s\t%s\t%s", f.RequestRate, percent(f.SuccessRate),
		millis(f.LatencyP50Ms), millis(f.LatencyP99Ms), strconv.FormatFloat(f.ActiveConnections, 'f', -1, 64))
}

func percent(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", *p*100)
}

func millis(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.1fms", *p)
}
