package main

import (
	"context"
	"fmt"
	"os"

	"github.com/trellis-mesh/trellis/internal/backup"
	"github.com/trellis-mesh/trellis/internal/server"
)

// restoreEtcd verifies the backup, then restores it into the (empty)
// etcd prefix sc names. Replicas may be running: they see the keys arrive
// through their watches.
func restoreEtcd(ctx context.Context, file string, sc server.StoreConfig) (backup.Header, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return backup.Header{}, "", fmt.Errorf("restore: %w", err)
	}
	h, recs, err := backup.Read(f)
	f.Close()
	if err != nil {
		return backup.Header{}, "", fmt.Errorf("restore %s: %w", file, err)
	}
	st, where, err := server.OpenStore(server.Config{Store: sc})
	if err != nil {
		return backup.Header{}, "", fmt.Errorf("restore: %w", err)
	}
	err = backup.RestoreRecords(ctx, st, recs)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("restore: %w", cerr)
	}
	return h, where, err
}
