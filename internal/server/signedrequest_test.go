package server

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// methodStream gives grpc.Method a method name outside a real server.
type methodStream struct{ grpc.ServerTransportStream }

const adsMethod = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"

func (methodStream) Method() string { return adsMethod }

// TestSignedRequest: the request rebuilt from a stream's metadata is the
// one Envoy signed: POST to the gRPC method path, host = :authority without
// a default port (gRPC and Envoy's signer drop :443 and :80), every other
// metadata entry a header.
func TestSignedRequest(t *testing.T) {
	for _, tc := range []struct {
		authority, host string
	}{
		{"xds.example:443", "xds.example"},
		{"xds.example:80", "xds.example"},
		{"xds.example:15128", "xds.example:15128"},
		{"127.0.0.1:4443", "127.0.0.1:4443"},
		{"xds.example", "xds.example"},
	} {
		md := metadata.Pairs(":authority", tc.authority, "authorization", "AWS4-HMAC-SHA256 x", "x-amz-date", "20261206T000000Z")
		ctx := grpc.NewContextWithServerTransportStream(metadata.NewIncomingContext(context.Background(), md), methodStream{})
		r, err := signedRequest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Method != "POST" || r.Host != tc.host || r.URL.Path != adsMethod ||
			r.Header.Get("Authorization") != "AWS4-HMAC-SHA256 x" || r.Header.Get("X-Amz-Date") != "20261206T000000Z" || r.Header.Get(":authority") != "" {
			t.Errorf("%s: %s %s %s %v", tc.authority, r.Method, r.Host, r.URL.Path, r.Header)
		}
	}
	if _, err := signedRequest(metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-amz-date", "x"))); err == nil {
		t.Error("no authorization metadata: accepted")
	}
}
