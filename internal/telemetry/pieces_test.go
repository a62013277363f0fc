package telemetry

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	promv1 "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// split cuts data at the given offsets (ascending, inside data).
func split(data []byte, at ...int) [][]byte {
	var out [][]byte
	prev := 0
	for _, a := range at {
		out = append(out, data[prev:a])
		prev = a
	}
	return append(out, data[prev:])
}

// every cuts data every n bytes.
func every(data []byte, n int) []int {
	var at []int
	for a := n; a < len(data); a += n {
		at = append(at, a)
	}
	return at
}

// checkPieces decodes data whole and cut at at, and requires the same
// frame or the same error.
func checkPieces(t *testing.T, data []byte, at []int) {
	t.Helper()
	var whole, cut frame
	errWhole := decodeFrame(data, &whole)
	_, errCut := decodePieces(split(data, at...), len(data), &cut, nil)
	if (errWhole == nil) != (errCut == nil) || (errWhole != nil && errWhole.Error() != errCut.Error()) {
		t.Fatalf("cut at %v: error %v, whole: %v", at, errCut, errWhole)
	}
	if errWhole == nil && !reflect.DeepEqual(whole, cut) {
		t.Fatalf("cut at %v: frame differs from the whole message's", at)
	}
	if errCut != nil && !errors.Is(errCut, errBadWire) {
		t.Fatalf("error %v does not wrap errBadWire", errCut)
	}
}

// TestDecodePieces checks that a message split over buffers (as gRPC hands
// over one larger than a DATA frame) decodes as the whole message does,
// wherever the cuts fall: inside a tag, a length, a name, a bucket.
func TestDecodePieces(t *testing.T) {
	flush, err := proto.Marshal(&metricsv3.StreamMetricsMessage{EnvoyMetrics: envoyFlush(10),
		Identifier: &metricsv3.StreamMetricsMessage_Identifier{Node: &corev3.Node{Id: "mesh/m/virtualNode/a", Cluster: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	long := slices.Concat(flush, protowire.AppendBytes(protowire.AppendTag(nil, fieldEnvoyMetrics, protowire.BytesType),
		slices.Concat(protowire.AppendBytes(protowire.AppendTag(nil, fieldFamilyName, protowire.BytesType), make([]byte, 40000)))))
	odd := slices.Concat(protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1<<40), flush[:300],
		protowire.AppendFixed32(protowire.AppendTag(nil, 10, protowire.Fixed32Type), 1), flush[300:900])
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"a sidecar's flush", flush},
		{"a family longer than a buffer", long},
		{"unknown fields", odd},
		{"truncated", flush[:len(flush)-5]},
		{"truncated in a header", flush[:len(flush)-len(flush)/3]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{16384, 1000, 97, 13, 1} {
				checkPieces(t, tc.data, every(tc.data, n))
			}
			for range 200 {
				at := make([]int, 1+rng.IntN(6))
				for i := range at {
					at[i] = rng.IntN(len(tc.data) + 1)
				}
				slices.Sort(at)
				checkPieces(t, tc.data, at)
			}
		})
	}
	t.Run("every cut of a small message", func(t *testing.T) {
		small := flush[:0:0]
		for _, fam := range envoyFlush(1)[:40] {
			b, err := proto.Marshal(&metricsv3.StreamMetricsMessage{EnvoyMetrics: []*promv1.MetricFamily{fam}})
			if err != nil {
				t.Fatal(err)
			}
			small = append(small, b...)
		}
		for a := range len(small) + 1 {
			for _, b := range []int{a, min(a+3, len(small)), min(a+300, len(small))} {
				checkPieces(t, small, []int{a, b})
			}
		}
	})
}
