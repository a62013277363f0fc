package auth

import (
	"context"
	"log/slog"
	"net/http"
)

// auditWriter holds the response status until the audit record is durable:
// the first WriteHeader (or Write) appends the record, then forwards. If the
// append fails the client gets a 503 instead, so no call is acknowledged
// without its record.
type auditWriter struct {
	http.ResponseWriter
	ctx     context.Context
	ev      *Event
	audit   Auditor
	log     *slog.Logger
	written bool
	failed  bool
}

func (w *auditWriter) WriteHeader(status int) {
	if w.written {
		return
	}
	w.written = true
	h := w.ResponseWriter.Header()
	w.ev.Status = status
	w.ev.RequestID = h.Get("X-Amzn-Requestid") // X-Amzn-RequestId in canonical form: no copy per call
	if status >= 300 {
		w.ev.ErrorCode = h.Get("X-Amzn-ErrorType")
	}
	if err := w.audit.Append(w.ctx, w.ev); err != nil {
		w.log.Error("audit append failed; answering 503", "action", w.ev.Op.Action, "err", err)
		w.failed = true
		h.Del("X-Amzn-ErrorType")
		WriteError(w.ResponseWriter, http.StatusServiceUnavailable, "ServiceUnavailableException", "audit log unavailable")
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.failed {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// flushHeader audits a handler that wrote nothing (an implicit 200).
func (w *auditWriter) flushHeader() { w.WriteHeader(http.StatusOK) }

// Flush passes through for streaming handlers (the console's event
// stream). It goes through http.ResponseController so that writers which
// only offer Unwrap (the server's metrics recorder) still flush.
func (w *auditWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush() // nothing to do if the writer cannot flush
}
