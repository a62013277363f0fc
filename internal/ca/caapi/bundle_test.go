package caapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// TestNodeBundle: a sidecar's bundle refresh from off loopback is served
// on the credentials it enrols with (a single-use token is not consumed by
// it), and refused without them; a plain bundle read stays guarded.
func TestNodeBundle(t *testing.T) {
	_, c := newServer(t)
	mux := http.NewServeMux()
	Mount(mux, c, Options{Logger: slog.New(slog.DiscardHandler)})
	tok, err := c.CreateToken(t.Context(), enrol.TokenRequest{Mesh: "shop", Node: "web", TTL: "1h", SingleUse: true})
	if err != nil {
		t.Fatal(err)
	}
	web := "spiffe://trellis.local/mesh/shop/virtualNode/web"
	for _, tc := range []struct {
		name, id, token string
		want            int
	}{
		{"no id: admin read, guarded", "", tok.Token, 403},
		{"token for the id", web, tok.Token, 200},
		{"again: not consumed", web, tok.Token, 200},
		{"no token", web, "", 403},
		{"token for another node", "spiffe://trellis.local/mesh/shop/virtualNode/db", tok.Token, 403},
		{"other trust domain", "spiffe://other.local/mesh/shop/virtualNode/web", tok.Token, 400},
		{"not an id", "web", tok.Token, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := enrol.BundlePath
			if tc.id != "" {
				target += "?" + enrol.BundleIDParam + "=" + url.QueryEscape(tc.id)
			}
			req := httptest.NewRequest("GET", target, nil)
			req.RemoteAddr = "10.0.0.7:4000"
			if tc.token != "" {
				req.Header.Set(enrol.BundleTokenHeader, tc.token)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			var b enrol.BundleResponse
			if tc.want == 200 && (json.Unmarshal(rec.Body.Bytes(), &b) != nil || b.TrustBundle == "") {
				t.Fatalf("body %s", rec.Body)
			}
		})
	}
	// The single-use token still enrols once after the polls.
	if err := c.UseToken(t.Context(), tok.Token, enrol.ID{TrustDomain: "trellis.local", Mesh: "shop", Kind: enrol.KindVirtualNode, Name: "web"}); err != nil {
		t.Errorf("token consumed by bundle polls: %v", err)
	}
}
