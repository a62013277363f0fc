package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/backup"
	"github.com/trellis-mesh/trellis/internal/cli"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// backupCommands returns `trellis backup` and `trellis restore`.
func backupCommands() []*cobra.Command {
	return []*cobra.Command{backupCommand(), restoreCommand()}
}

func backupCommand() *cobra.Command {
	endpoint := os.Getenv("TRELLIS_ENDPOINT")
	if endpoint == "" {
		endpoint = cli.DefaultEndpoint
	}
	var dataDir string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent snapshot of the store to FILE",
		Long: `Write a consistent snapshot of the whole store (every resource, tag and
registry instance, at one store revision) to FILE, a checksummed Trellis
backup file. By default it asks the running server (GET /admin/backup on
--endpoint): an online backup, writes keep flowing. With --data-dir it
reads a stopped server's bbolt file directly instead.

The file is written to FILE.tmp, verified, then renamed, so FILE is
either a complete backup or absent. See docs/backup.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			fetch := func(w io.Writer) error { return fetchBackup(ctx, endpoint, w) }
			if dataDir != "" {
				fetch = func(w io.Writer) error { return dumpDataDir(ctx, dataDir, w) }
			}
			h, err := writeVerified(args[0], fetch)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d keys at store revision %d\n", args[0], h.Keys, h.Revision)
			return nil
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint", endpoint, "Trellis API endpoint of the running server (env TRELLIS_ENDPOINT)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "read trellis.db in this directory directly (the server must be stopped) instead of asking the server")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	return cmd
}

func restoreCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a backup FILE into an empty store",
		Long: `Restore a file written by 'trellis backup' into the store under --data-dir,
with the server stopped. The file is verified in full before anything is
written, and the store must be empty (a missing trellis.db is created);
a non-empty store is refused. Resource versions, uids, timestamps, tags and
registry instances come back exactly. See docs/backup.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := restoreFile(cmd.Context(), args[0], dataDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %d keys (backup of store revision %d, taken %s) into %s\n",
				h.Keys, h.Revision, h.Created.Format(time.RFC3339), filepath.Join(dataDir, "trellis.db"))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "trellis-data", "directory of the store to restore into (trellis server --data-dir)")
	return cmd
}

// fetchBackup downloads GET /admin/backup from a running server.
func fetchBackup(ctx context.Context, endpoint string, w io.Writer) error {
	url := strings.TrimSuffix(endpoint, "/") + backup.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// Signed like the aws CLI signs (AWS_* variables, profile, shared
	// credentials file) for the admin service; the server requires it
	// unless it runs with --auth=false.
	if err := awscreds.Sign(req, nil, "trellis", os.Getenv, "us-east-1"); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("backup: ask the server: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("backup: %s answered %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("backup: download: %w", err)
	}
	return nil
}

// dumpDataDir snapshots a stopped server's bbolt file.
func dumpDataDir(ctx context.Context, dir string, w io.Writer) error {
	path := filepath.Join(dir, "trellis.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		return fmt.Errorf("backup: %w (is the server still running? then back up through --endpoint)", err)
	}
	defer st.Close()
	_, err = backup.Dump(ctx, st, w)
	return err
}

// writeVerified writes through fetch to path.tmp, syncs it, reads it back
// in full, and renames it to path.
func writeVerified(path string, fetch func(io.Writer) error) (backup.Header, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return backup.Header{}, fmt.Errorf("backup: %w", err)
	}
	err = fetch(f)
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		var h backup.Header
		if h, err = verifyFile(tmp); err == nil {
			if err = os.Rename(tmp, path); err == nil {
				return h, nil
			}
		}
	}
	_ = os.Remove(tmp)
	return backup.Header{}, err
}

func verifyFile(path string) (backup.Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return backup.Header{}, err
	}
	defer f.Close()
	h, _, err := backup.Read(f)
	return h, err
}

// restoreFile verifies the backup before it opens (or creates) the store.
func restoreFile(ctx context.Context, file, dataDir string) (backup.Header, error) {
	f, err := os.Open(file)
	if err != nil {
		return backup.Header{}, fmt.Errorf("restore: %w", err)
	}
	h, recs, err := backup.Read(f)
	f.Close()
	if err != nil {
		return backup.Header{}, fmt.Errorf("restore %s: %w", file, err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return backup.Header{}, fmt.Errorf("restore: %w", err)
	}
	st, err := bolt.Open(filepath.Join(dataDir, "trellis.db"), bolt.Options{})
	if err != nil {
		return backup.Header{}, fmt.Errorf("restore: %w", err)
	}
	err = backup.RestoreRecords(ctx, st, recs)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("restore: %w", cerr)
	}
	return h, err
}
