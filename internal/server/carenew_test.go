package server_test

import (
	"testing"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/svid"
)

// TestRenewByProofWithAuth (issue 13): with API authentication on, a
// sidecar enrolled with a single-use token renews and polls the bundle
// through the server's routing, proving possession of its SVID with no
// SigV4 signature.
func TestRenewByProofWithAuth(t *testing.T) {
	s, admin := startAuthServer(t, nil)
	base := "http://" + s.Addr()
	var tok enrol.TokenCreated
	if got, typ := doCA(t, base, "POST", enrol.AdminTokensPath, &admin, enrol.TokenRequest{Mesh: "shop", Node: "web", TTL: "1h", SingleUse: true}, &tok); got != 200 {
		t.Fatalf("create token: %d %s", got, typ)
	}
	id := enrol.ID{TrustDomain: "trellis.local", Mesh: "shop", Kind: enrol.KindVirtualNode, Name: "web"}
	e := &svid.Enroller{APIURL: base, Token: tok.Token}
	for i := range 3 {
		if _, err := e.Enrol(t.Context(), id); err != nil {
			t.Fatalf("enrolment %d: %v", i, err)
		}
		if _, err := e.Bundle(t.Context(), id); err != nil {
			t.Fatalf("bundle poll %d: %v", i, err)
		}
	}
	// The token is spent: a fresh sidecar cannot enrol with it.
	if _, err := (&svid.Enroller{APIURL: base, Token: tok.Token}).Enrol(t.Context(), id); err == nil {
		t.Fatal("the single-use token enrolled twice")
	}
}
