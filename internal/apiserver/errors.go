package apiserver

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/trellis-mesh/trellis/internal/manager"
)

// statusOf is the HTTP status App Mesh sends with each error code.
var statusOf = map[manager.Code]int{
	manager.CodeBadRequest:    http.StatusBadRequest,
	manager.CodeConflict:      http.StatusConflict,
	manager.CodeForbidden:     http.StatusForbidden,
	manager.CodeInternal:      http.StatusInternalServerError,
	manager.CodeLimitExceeded: http.StatusBadRequest,
	manager.CodeNotFound:      http.StatusNotFound,
	manager.CodeInUse:         http.StatusConflict,
	manager.CodeUnavailable:   http.StatusServiceUnavailable,
	manager.CodeTooManyReqs:   http.StatusTooManyRequests,
	manager.CodeTooManyTags:   http.StatusBadRequest,
}

// opClass groups operations by the error codes their SDK deserializers
// recognise. A code outside an operation's set would reach Go SDK users as
// an untyped GenericAPIError, so writeError never sends one.
type opClass int

const (
	classRead       opClass = iota // Describe*, List*, ListTagsForResource, UntagResource
	classCreate                    // Create*, Update* except UpdateMesh
	classUpdateMesh                // the Create set without LimitExceeded
	classDelete                    // Delete*
	classTag                       // TagResource
)

var common = []manager.Code{manager.CodeBadRequest, manager.CodeForbidden, manager.CodeInternal,
	manager.CodeNotFound, manager.CodeUnavailable, manager.CodeTooManyReqs}

var allowed = map[opClass][]manager.Code{
	classRead:       common,
	classCreate:     append([]manager.Code{manager.CodeConflict, manager.CodeLimitExceeded}, common...),
	classUpdateMesh: append([]manager.Code{manager.CodeConflict}, common...),
	classDelete:     append([]manager.Code{manager.CodeInUse}, common...),
	classTag:        append([]manager.Code{manager.CodeTooManyTags}, common...),
}

// sendable maps a code onto the operation's set: a client fault outside the
// set becomes BadRequest, anything else InternalServerError.
func sendable(class opClass, code manager.Code) manager.Code {
	for _, c := range allowed[class] {
		if c == code {
			return code
		}
	}
	if s := statusOf[code]; s >= 400 && s < 500 {
		return manager.CodeBadRequest
	}
	return manager.CodeInternal
}

// writeError sends an App Mesh error: X-Amzn-ErrorType names the type, the
// body carries {"message": ...}. Internal causes are logged, not sent.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, class opClass, err error) {
	var me *manager.Error
	if !errors.As(err, &me) {
		me = &manager.Error{Code: manager.CodeInternal, Message: "internal error", Err: err}
	}
	code := sendable(class, me.Code)
	status := statusOf[code]
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", me)
	} else {
		log.Debug("request rejected", "method", r.Method, "path", r.URL.Path, "code", code, "message", me.Message)
	}
	w.Header().Set("X-Amzn-ErrorType", string(code))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{me.Message})
	w.Write(b)
}

func badRequest(format string, args ...any) error {
	return &manager.Error{Code: manager.CodeBadRequest, Message: sprintf(format, args...)}
}
