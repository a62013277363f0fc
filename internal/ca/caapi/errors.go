package caapi

import (
	"encoding/json"
	"net/http"
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
