package adsclient

import (
	"bytes"
	"testing"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// TestDecode: what a simulated proxy reads of a response is what a full
// decode reads.
func TestDecode(t *testing.T) {
	bodies := [][]byte{[]byte("first"), []byte("second")}
	var anys []*anypb.Any
	var res []*discoveryv3.Resource
	for i, b := range bodies {
		a := &anypb.Any{TypeUrl: "type.googleapis.com/x", Value: b}
		anys = append(anys, a)
		res = append(res, &discoveryv3.Resource{Name: string(rune('a' + i)), Version: "1", Resource: a})
	}
	check := func(m proto.Message, delta bool) {
		t.Helper()
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var r Response
		r.decode(b, delta)
		if r.TypeURL != "T" || r.Version != "v7" || r.Nonce != "n3" || r.Size != len(b) || len(r.Resources) != 2 ||
			!bytes.Equal(r.Resources[0], bodies[0]) || !bytes.Equal(r.Resources[1], bodies[1]) {
			t.Errorf("delta=%v: decoded %+v", delta, r)
		}
	}
	check(&discoveryv3.DiscoveryResponse{VersionInfo: "v7", Resources: anys, TypeUrl: "T", Nonce: "n3"}, false)
	check(&discoveryv3.DeltaDiscoveryResponse{SystemVersionInfo: "v7", Resources: res, TypeUrl: "T", Nonce: "n3",
		RemovedResources: []string{"gone"}}, true)
}
