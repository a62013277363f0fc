package ca

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

func idOf(mesh, name string) enrol.ID {
	return enrol.ID{TrustDomain: "trellis.local", Mesh: mesh, Kind: enrol.KindVirtualNode, Name: name}
}

func TestTokenUse(t *testing.T) {
	c, clk := newTestCA(t, time.Hour)
	node, err := c.CreateToken(t.Context(), enrol.TokenRequest{Mesh: "shop", Node: "web", TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	pattern, err := c.CreateToken(t.Context(), enrol.TokenRequest{Mesh: "shop", NodePattern: "web-*", TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	forged := node.Token[:len(node.Token)-2] + "AA"
	for _, tc := range []struct {
		name string
		tok  string
		id   enrol.ID
		want error
	}{
		{"node ok", node.Token, idOf("shop", "web"), nil},
		{"node reusable", node.Token, idOf("shop", "web"), nil},
		{"other node", node.Token, idOf("shop", "db"), ErrTokenMismatch},
		{"other mesh", node.Token, idOf("bank", "web"), ErrTokenMismatch},
		{"pattern ok", pattern.Token, idOf("shop", "web-1"), nil},
		{"pattern miss", pattern.Token, idOf("shop", "db-1"), ErrTokenMismatch},
		{"forged secret", forged, idOf("shop", "web"), ErrTokenUnknown},
		{"garbage", "hello", idOf("shop", "web"), ErrBadToken},
	} {
		if err := c.UseToken(t.Context(), tc.tok, tc.id); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	clk.Add(11 * time.Minute)
	if err := c.UseToken(t.Context(), pattern.Token, idOf("shop", "web-1")); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired: %v", err)
	}
	list, _ := c.ListTokens(t.Context())
	if len(list) != 1 || list[0].ID != node.ID {
		t.Errorf("list = %+v, want only the live node token", list)
	}
	if err := c.RevokeToken(t.Context(), node.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.UseToken(t.Context(), node.Token, idOf("shop", "web")); !errors.Is(err, ErrTokenUnknown) {
		t.Errorf("revoked: %v", err)
	}
}

// TestSingleUseRace: of many concurrent uses of a single-use token,
// exactly one succeeds.
func TestSingleUseRace(t *testing.T) {
	c, _ := newTestCA(t, time.Hour)
	tok, err := c.CreateToken(t.Context(), enrol.TokenRequest{Mesh: "shop", Node: "web", TTL: "1h", SingleUse: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, used := 0, 0
	for range 16 {
		wg.Go(func() {
			err := c.UseToken(t.Context(), tok.Token, idOf("shop", "web"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrTokenUsed), errors.Is(err, ErrTokenUnknown):
				used++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || used != 15 {
		t.Errorf("ok=%d used=%d, want 1 and 15", ok, used)
	}
}

func TestTokenRequestChecks(t *testing.T) {
	c, _ := newTestCA(t, time.Hour)
	for _, req := range []enrol.TokenRequest{
		{Mesh: "", Node: "a", TTL: "1h"},
		{Mesh: "m", TTL: "1h"},
		{Mesh: "m", Node: "a", NodePattern: "a*", TTL: "1h"},
		{Mesh: "m", NodePattern: "[", TTL: "1h"},
		{Mesh: "m", Node: "a", TTL: "0s"},
		{Mesh: "m", Node: "a", TTL: "9000h"},
		{Mesh: "m", Node: "a", TTL: "soon"},
	} {
		if _, err := c.CreateToken(t.Context(), req); !errors.Is(err, ErrBadTokenRequest) {
			t.Errorf("%+v: %v", req, err)
		}
	}
}

func TestTokenStoredHashed(t *testing.T) {
	c, _ := newTestCA(t, time.Hour)
	tok, _ := c.CreateToken(t.Context(), enrol.TokenRequest{Mesh: "m", Node: "a", TTL: "1h"})
	_, secret, err := ParseToken(tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	kv, _ := c.st.Get(t.Context(), TokenPrefix+tok.ID)
	enc := tok.Token[strings.LastIndex(tok.Token, ".")+1:]
	if strings.Contains(string(kv.Value), enc) || strings.Contains(string(kv.Value), string(secret)) {
		t.Error("secret stored in clear")
	}
}
