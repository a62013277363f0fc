package registryapi

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/registry"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// metricValue reads a single-series gauge or counter.
func metricValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	r := prometheus.NewPedanticRegistry()
	r.MustRegister(c)
	mfs, err := r.Gather()
	if err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("gather: %v, %d families", err, len(mfs))
	}
	m := mfs[0].GetMetric()[0]
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

// TestOpLogBound: the log keeps its last cap operations, counts what it
// drops, and pages by sequence number across evictions.
func TestOpLogBound(t *testing.T) {
	l := newOpLog(3)
	at := time.Unix(1000, 0)
	var ids []string
	for i := range 3 {
		ids = append(ids, *l.record("REGISTER_INSTANCE", map[string]string{"INSTANCE": string(rune('a' + i))}, at))
	}
	if got := metricValue(t, l.size); got != 3 {
		t.Fatalf("retained = %v at the bound", got)
	}
	if got := metricValue(t, l.evicted); got != 0 {
		t.Fatalf("evicted = %v at the bound", got)
	}
	l.record("DEREGISTER_INSTANCE", nil, at)
	if got, ev := metricValue(t, l.size), metricValue(t, l.evicted); got != 3 || ev != 1 {
		t.Fatalf("past the bound: retained %v, evicted %v", got, ev)
	}
	all := l.after(0)
	if len(all) != 3 || all[0].id != ids[1] || all[2].op.Type != "DEREGISTER_INSTANCE" {
		t.Fatalf("log = %+v", all)
	}
	if rest := l.after(all[1].op.Seq); len(rest) != 1 || rest[0].op.Seq != all[2].op.Seq {
		t.Fatalf("after seq %d = %+v", all[1].op.Seq, rest)
	}
}

// FuzzCloudMapRequest sends arbitrary bodies to every operation: the API
// must answer with JSON and a 2xx/4xx status, never panic or 5xx.
func FuzzCloudMapRequest(f *testing.F) {
	st, err := bolt.Open(filepath.Join(f.TempDir(), "r.db"), bolt.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	reg := registry.New(st, registry.Options{})
	api := New(reg, Options{Region: "us-west-2", AccountID: "123456789012"})
	ops := make([]string, 0, len(api.ops))
	for op := range api.ops {
		ops = append(ops, op)
	}
	slices.Sort(ops) // the same input picks the same operation in every worker
	for i, seed := range []string{`{}`, `{"Name":"a"}`, `{"Filters":[{"Name":"TYPE","Condition":"IN","Values":["X"]}]}`,
		`{"ResourceARN":"arn:aws:servicediscovery:us-west-2:123456789012:service/srv-x","Tags":[{"Key":"a","Value":"b"}]}`,
		`{"ServiceId":"srv-x","Attributes":{"a":"b"}}`, `{"Id":"ns-x","Namespace":{"Description":"d"}}`, `[1,2`, `{"MaxResults":0}`} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		// The two operations that wait for the registry's index would block:
		// the registry is not running here.
		op := ops[int(which)%len(ops)]
		if op == "DiscoverInstances" || op == "DiscoverInstancesRevision" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", TargetPrefix+op)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if ctx.Err() != nil {
			t.Fatalf("%s %q: did not answer within 5 s", op, body)
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", op, body, rec.Code, rec.Body)
		}
	})
}
