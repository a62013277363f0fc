package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// TestNodeBundleWithAuth: with API authentication on, a sidecar's bundle
// poll (GET /v1/ca/bundle?spiffeId=...) carrying its join token and no
// signature gets past the middleware and is served; a wrong token or
// another node's id is refused.
func TestNodeBundleWithAuth(t *testing.T) {
	s, admin := startAuthServer(t, nil)
	base := "http://" + s.Addr()
	var tok enrol.TokenCreated
	if got, typ := doCA(t, base, "POST", enrol.AdminTokensPath, &admin, enrol.TokenRequest{Mesh: "shop", Node: "web", TTL: "1h"}, &tok); got != 200 {
		t.Fatalf("create token: %d %s", got, typ)
	}
	for _, tc := range []struct {
		name, node, token string
		want              int
	}{
		{"own token", "web", tok.Token, 200},
		{"wrong token", "web", "tj_bogus.bogus", 403},
		{"another node", "db", tok.Token, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "spiffe://trellis.local/mesh/shop/virtualNode/" + tc.node
			req, _ := http.NewRequest("GET", base+enrol.BundlePath+"?"+enrol.BundleIDParam+"="+url.QueryEscape(id), nil)
			req.Header.Set(enrol.BundleTokenHeader, tc.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), tc.want)
			}
		})
	}
}
