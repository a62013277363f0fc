package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// unwrapOnly is a writer that offers Unwrap but not Flush, like the
// server's metrics recorder.
type unwrapOnly struct{ http.ResponseWriter }

func (u unwrapOnly) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// TestAuditWriterFlushThroughUnwrap: a streaming handler's Flush reaches
// the connection through writers that only offer Unwrap (the console's
// event stream depends on it).
func TestAuditWriterFlushThroughUnwrap(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &auditWriter{ResponseWriter: unwrapOnly{rec}}
	w.Flush()
	if !rec.Flushed {
		t.Fatal("Flush did not reach the underlying writer")
	}
}
