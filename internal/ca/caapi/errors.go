package caapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/trellis-mesh/trellis/internal/ca"
)

// App Mesh error types the handlers send.
const (
	errBadRequest  = "BadRequestException"
	errForbidden   = "ForbiddenException"
	errNotFound    = "NotFoundException"
	errInternal    = "InternalServerErrorException"
	errUnavailable = "ServiceUnavailableException"
)

var statusOf = map[string]int{
	errBadRequest:  http.StatusBadRequest,
	errForbidden:   http.StatusForbidden,
	errNotFound:    http.StatusNotFound,
	errInternal:    http.StatusInternalServerError,
	errUnavailable: http.StatusServiceUnavailable,
}

// writeCAError answers a CA failure: 503 when the CA's keys do not
// unseal (the wrong --ca-key-file) or no authority is active, else 500.
func writeCAError(w http.ResponseWriter, log *slog.Logger, what string, err error) {
	log.Error("ca: "+what, "err", err)
	switch {
	case errors.Is(err, ca.ErrUnseal):
		writeError(w, errUnavailable, "the CA cannot unseal its keys with this server's key file")
	case errors.Is(err, ca.ErrNoAuthority):
		writeError(w, errUnavailable, "the CA has no active authority")
	default:
		writeError(w, errInternal, "internal error")
	}
}

// writeError sends an App Mesh error envelope.
func writeError(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(statusOf[typ])
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, errInternal, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// decode reads a JSON body of at most max bytes into v; unknown fields
// are refused so a typo is not silently ignored.
func decode(w http.ResponseWriter, r *http.Request, max int64, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, errBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}
