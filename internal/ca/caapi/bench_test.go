package caapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// BenchmarkEnrolHTTP measures whole enrolments per second over loopback
// HTTP: JSON, CSR parse and signature check, join token check (a store
// read), signing, answer. The client's key and CSR are made once.
func BenchmarkEnrolHTTP(b *testing.B) {
	srv, _ := newServer(b)
	var tok enrol.TokenCreated
	_, _, body := call(b, "POST", srv.URL+enrol.AdminTokensPath, enrol.TokenRequest{Mesh: "shop", Node: "web", TTL: "1h"})
	if err := json.Unmarshal(body, &tok); err != nil {
		b.Fatal(err)
	}
	req := enrol.SignRequest{CSR: csrPEM(b, "spiffe://trellis.local/mesh/shop/virtualNode/web"), Token: tok.Token}
	start := time.Now()
	for b.Loop() {
		if status, typ, body := call(b, "POST", srv.URL+enrol.SignPath, req); status != 200 {
			b.Fatalf("%d %s %s", status, typ, body)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "enrolments/s")
}
