package backup

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/trellis-mesh/trellis/internal/store"
)

// Path is where the server mounts Handler on its API port.
const Path = "/admin/backup"

// Handler serves GET Path: a consistent backup of st, as a file download.
// The snapshot is read before the first byte is sent, so a store failure
// is a clean 500; the file is then streamed (a cut connection leaves a
// file that Read rejects).
//
// It is an administrative endpoint: whoever can call it reads every
// resource. Mount it behind the API's authentication.
func Handler(st store.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, recs, err := Snapshot(r.Context(), st)
		if err != nil {
			log.Error("backup failed", "err", err)
			http.Error(w, "backup failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		name := fmt.Sprintf("trellis-%s-rev%d.backup", h.Created.Format("20060102T150405Z"), h.Revision)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("X-Trellis-Backup-Revision", strconv.FormatInt(h.Revision, 10))
		w.Header().Set("X-Trellis-Backup-Keys", strconv.Itoa(len(recs)))
		if err := Write(w, h, recs); err != nil {
			log.Warn("backup download interrupted", "err", err)
			return
		}
		log.Info("backup served", "revision", h.Revision, "keys", len(recs))
	})
}
