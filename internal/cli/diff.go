package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// ErrDiffFound is matched (errors.Is) by the error diff returns when apply
// would change something; a caller may map it to exit status 1 without
// printing more than its short message.
var ErrDiffFound = errors.New("differences found")

// diffError is the short "N resources would change" error of diff.
type diffError struct{ n int }

func (e *diffError) Error() string {
	if e.n == 1 {
		return "1 resource would change"
	}
	return fmt.Sprintf("%d resources would change", e.n)
}

func (e *diffError) Unwrap() error { return ErrDiffFound }

func diffCommand(o *options) *cobra.Command {
	var files []string
	c := &cobra.Command{
		Use:   "diff -f FILE|DIR|-",
		Short: "Show what apply would do, without doing it",
		Long: `Diff loads documents exactly as apply does and prints, in apply's order,
"+ RESOURCE (create)", "= RESOURCE (unchanged)" or "~ RESOURCE (update)"
followed by a line diff of the current spec against the desired one
("- " removed, "+ " added, "  " kept). It exits 0 when nothing would
change and with an error ("N resources would change") otherwise.`,
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
			ctx := commandContext(cmd)
			out := cmd.OutOrStdout()
			changed := 0
			for _, d := range docs {
				ch, err := diffOne(ctx, out, cl, d)
				if err != nil {
					return fmt.Errorf("%s (%s): %w", label(d.ID), d.Source, err)
				}
				if ch {
					changed++
				}
			}
			if changed > 0 {
				return &diffError{n: changed}
			}
			return nil
		},
	}
	c.Flags().StringArrayVarP(&files, "filename", "f", nil, "file, directory or - (stdin); repeatable")
	return c
}

// diffOne prints what applyOne would do with d and reports whether that
// is a change. It decides exactly as applyOne does.
func diffOne(ctx context.Context, w io.Writer, cl *client, d *Document) (bool, error) {
	raw, err := cl.describe(ctx, d.ID)
	if isNotFound(err) {
		fmt.Fprintf(w, "+ %s (create)\n", label(d.ID))
		return true, nil
	}
	if err != nil {
		return false, err
	}
	var cur resourceData
	if err := jsonUnmarshal(raw, &cur); err != nil {
		return false, err
	}
	have, err1 := normalize(d.ID.Kind, cur.Spec)
	want, err2 := normalize(d.ID.Kind, d.Spec)
	if err1 == nil && err2 == nil && bytes.Equal(have, want) {
		fmt.Fprintf(w, "= %s (unchanged)\n", label(d.ID))
		return false, nil
	}
	// Show the raw spec of a side that does not normalise.
	if err1 != nil {
		have = cur.Spec
	}
	if err2 != nil {
		want = d.Spec
	}
	a, err := specLines(have)
	if err != nil {
		return false, err
	}
	b, err := specLines(want)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w, "~ %s (update)\n", label(d.ID))
	for _, l := range lineDiff(a, b) {
		fmt.Fprintln(w, l)
	}
	return true, nil
}

// specLines renders a JSON spec as YAML lines.
func specLines(spec json.RawMessage) ([]string, error) {
	if len(bytes.TrimSpace(spec)) == 0 {
		spec = json.RawMessage("{}")
	}
	y, err := yaml.JSONToYAML(spec)
	if err != nil {
		return nil, err
	}
	s := strings.TrimRight(string(y), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// lineDiff is a longest-common-subsequence diff of a (old) and b (new):
// every line prefixed "  " (both), "- " (only a) or "+ " (only b).
func lineDiff(a, b []string) []string {
	n, m := len(a), len(b)
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	out := make([]string, 0, n+m)
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, "  "+a[i])
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, "- "+a[i])
			i++
		default:
			out = append(out, "+ "+b[j])
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, "- "+a[i])
	}
	for ; j < m; j++ {
		out = append(out, "+ "+b[j])
	}
	return out
}
