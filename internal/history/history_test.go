package history

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// fixture is a manager over a bolt store with a running Recorder.
type fixture struct {
	mgr *manager.Manager
	rec *Recorder
	reg *prometheus.Registry
}

func newFixture(t *testing.T, perResource int) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	f := &fixture{mgr: manager.New(st, manager.Options{Region: "us-west-2", AccountID: "111122223333"}), reg: reg,
		rec: New(st, Options{PerResource: perResource, Registerer: reg})}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := f.rec.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait(); st.Close() })
	return f
}

// waitRevision waits until the recorder applied the store's current revision.
func (f *fixture) waitRevision(t *testing.T, rev int64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		got, ch := f.rec.Revision()
		if got >= rev {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("recorder stuck at revision %d, want %d", got, rev)
		}
	}
}

func meshSpec(t *testing.T, egress string) any {
	t.Helper()
	spec := appmesh.KindMesh.NewSpec()
	if err := json.Unmarshal([]byte(fmt.Sprintf(`{"egressFilter":{"type":%q}}`, egress)), spec); err != nil {
		t.Fatal(err)
	}
	return spec
}

// writeMesh creates or updates mesh "m" and returns its resource.
func (f *fixture) writeMesh(t *testing.T, create bool, egress string) *appmesh.Resource {
	t.Helper()
	ctx := context.Background()
	id := appmesh.Identity{Kind: appmesh.KindMesh, Mesh: "m", Name: "m"}
	var (
		res *appmesh.Resource
		err error
	)
	if create {
		res, err = f.mgr.Create(ctx, manager.CreateInput{ID: id, Spec: meshSpec(t, egress)})
	} else {
		res, err = f.mgr.Update(ctx, manager.UpdateInput{ID: id, Spec: meshSpec(t, egress)})
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRecorderBound: each update adds a version; at the bound the oldest
// is evicted and counted; a delete drops the resource's history.
func TestRecorderBound(t *testing.T) {
	const bound = 3
	f := newFixture(t, bound)
	res := f.writeMesh(t, true, "DROP_ALL")
	for i := range 4 {
		res = f.writeMesh(t, false, []string{"ALLOW_ALL", "DROP_ALL"}[i%2])
	}
	rev, err := f.rec.st.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.waitRevision(t, rev)
	vs := f.rec.Versions(res.Metadata.Arn)
	if len(vs) != bound {
		t.Fatalf("kept %d versions, want the bound %d", len(vs), bound)
	}
	for i, v := range vs {
		if want := int64(3 + i); v.Version != want {
			t.Errorf("versions[%d].Version = %d, want %d", i, v.Version, want)
		}
	}
	if !strings.Contains(string(vs[bound-1].Spec), "DROP_ALL") {
		t.Errorf("newest spec %s, want DROP_ALL", vs[bound-1].Spec)
	}
	if got := testutil.ToFloat64(f.rec.kept); got != bound {
		t.Errorf("trellis_history_versions = %v, want %d", got, bound)
	}
	if got := testutil.ToFloat64(f.rec.evicted); got != 2 {
		t.Errorf("trellis_history_versions_evicted_total = %v, want 2", got)
	}
	if _, err := f.mgr.Delete(context.Background(), res.Identity()); err != nil {
		t.Fatal(err)
	}
	rev, _ = f.rec.st.Revision(context.Background())
	f.waitRevision(t, rev)
	if vs := f.rec.Versions(res.Metadata.Arn); len(vs) != 0 || testutil.ToFloat64(f.rec.kept) != 0 {
		t.Errorf("after delete: %d versions kept, gauge %v", len(vs), testutil.ToFloat64(f.rec.kept))
	}
}

func TestHistoryHandler(t *testing.T) {
	f := newFixture(t, 0)
	res := f.writeMesh(t, true, "DROP_ALL")
	res = f.writeMesh(t, false, "ALLOW_ALL")
	rev, _ := f.rec.st.Revision(context.Background())
	f.waitRevision(t, rev)
	srv := httptest.NewServer(f.rec.Handler())
	defer srv.Close()
	tests := []struct {
		name, query string
		code        int
		versions    int
	}{
		{"known", "?arn=" + res.Metadata.Arn, http.StatusOK, 2},
		{"unknown", "?arn=arn:aws:appmesh:us-west-2:111122223333:mesh/nope", http.StatusNotFound, 0},
		{"missing", "", http.StatusBadRequest, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body historyResponse
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code || len(body.Versions) != tc.versions {
				t.Fatalf("status %d with %d versions, want %d with %d", resp.StatusCode, len(body.Versions), tc.code, tc.versions)
			}
		})
	}
}

// TestEventsStream: the stream starts with the current revision and sends
// a revision event for a write.
func TestEventsStream(t *testing.T) {
	f := newFixture(t, 0)
	srv := httptest.NewServer(f.rec.EventsHandler(EventsOptions{Tick: time.Hour}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "data: ") {
				return l
			}
		}
		t.Fatalf("stream ended: %v", lines.Err())
		return ""
	}
	if first := next(); first != `data: {"revision":0}` {
		t.Fatalf("first event %q", first)
	}
	f.writeMesh(t, true, "DROP_ALL")
	if got := next(); got == `data: {"revision":0}` {
		t.Fatalf("second event %q, want a later revision", got)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 0))
}

// TestEventsStreamBound: at MaxStreams open streams one more is refused
// with 503 and counted; closing one frees its slot.
func TestEventsStreamBound(t *testing.T) {
	f := newFixture(t, 0)
	srv := httptest.NewServer(f.rec.EventsHandler(EventsOptions{Tick: time.Hour, MaxStreams: 1}))
	defer srv.Close()
	open := func() (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, cancel
	}
	first, cancelFirst := open()
	if first.StatusCode != http.StatusOK || testutil.ToFloat64(f.rec.streams) != 1 {
		t.Fatalf("first stream: %d, gauge %v", first.StatusCode, testutil.ToFloat64(f.rec.streams))
	}
	second, cancelSecond := open()
	second.Body.Close()
	cancelSecond()
	if second.StatusCode != http.StatusServiceUnavailable || testutil.ToFloat64(f.rec.refused) != 1 {
		t.Fatalf("stream over the bound: %d, refused %v", second.StatusCode, testutil.ToFloat64(f.rec.refused))
	}
	cancelFirst()
	first.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(f.rec.streams) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("slot not freed after the stream closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	third, cancelThird := open()
	defer cancelThird()
	defer third.Body.Close()
	if third.StatusCode != http.StatusOK {
		t.Fatalf("stream after a slot was freed: %d", third.StatusCode)
	}
}

// TestRecorderCompacted: when the store no longer holds the revisions from
// 0, the recorder starts from the current contents and then follows on.
func TestRecorderCompacted(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), bolt.Options{HistoryLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := &fixture{mgr: manager.New(st, manager.Options{Region: "us-west-2", AccountID: "111122223333"}),
		rec: New(st, Options{})}
	res := f.writeMesh(t, true, "DROP_ALL")
	for i := range 6 {
		res = f.writeMesh(t, false, []string{"ALLOW_ALL", "DROP_ALL"}[i%2])
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := f.rec.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	rev, _ := st.Revision(context.Background())
	f.waitRevision(t, rev)
	if vs := f.rec.Versions(res.Metadata.Arn); len(vs) != 1 || vs[0].Version != 7 {
		t.Fatalf("after compaction: versions %+v, want only version 7", vs)
	}
	f.writeMesh(t, false, "ALLOW_ALL")
	rev, _ = st.Revision(context.Background())
	f.waitRevision(t, rev)
	if vs := f.rec.Versions(res.Metadata.Arn); len(vs) != 2 || vs[1].Version != 8 {
		t.Fatalf("after a later write: %d versions, want 2 ending with version 8", len(vs))
	}
}
