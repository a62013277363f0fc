package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// FuzzBearer: any Authorization header is handled without panic, and a
// scrape passes exactly when the header is the Bearer scheme (any case)
// with the token.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer t0ken", "bearer t0ken", "Bearer  t0ken ", "Basic t0ken", "Bearer", "", "Bearer t0ken2", "BEARER\tt0ken"} {
		f.Add(s)
	}
	const token = "t0ken"
	h := requireBearer([]byte(token), prometheus.NewCounter(prometheus.CounterOpts{Name: "x"}),
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.Header["Authorization"] = []string{header}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		scheme, cred, _ := strings.Cut(header, " ")
		want := strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(cred) == token
		if got := w.Code == http.StatusOK; got != want {
			t.Fatalf("header %q: passed=%v, want %v", header, got, want)
		}
	})
}
