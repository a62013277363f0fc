package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openT(t *testing.T, opts Options) *Log {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func queryAll(t *testing.T, dir string, f Filter) []Record {
	t.Helper()
	var out []Record
	if err := QueryLog(dir, f, quiet(), func(r Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func sample(i int) *Record {
	return &Record{
		EventTime:   time.Date(2026, 12, 6, 21, 0, i, 0, time.UTC).Format(time.RFC3339),
		EventSource: "appmesh.amazonaws.com", EventName: "UpdateRoute", AWSRegion: "us-east-1",
		SourceIPAddress: "10.0.0.1", UserAgent: "aws-cli/2.15",
		UserIdentity: UserIdentity{Type: "IAMUser", PrincipalID: "AIDAEXAMPLE", ARN: "arn:aws:iam::111122223333:user/alice",
			AccountID: "111122223333", AccessKeyID: "AKIAEXAMPLE", UserName: "alice"},
		RequestParameters: map[string]any{"meshName": "shop", "routeName": fmt.Sprintf("r%d", i)},
		RequestID:         fmt.Sprintf("req-%d", i),
		Resources:         []Resource{{ARN: fmt.Sprintf("arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualRouter/vr/route/r%d", i), Type: "AWS::AppMesh::Route"}},
	}
}

func TestAppendIsCloudTrailShaped(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir})
	r := sample(1)
	r.ErrorCode, r.ErrorMessage = "AccessDeniedException", "not authorized"
	if err := l.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, fileName(1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"eventVersion":"1.08"`, `"eventTime":"2026-12-06T21:00:01Z"`, `"eventSource":"appmesh.amazonaws.com"`,
		`"eventName":"UpdateRoute"`, `"awsRegion"`, `"sourceIPAddress":"10.0.0.1"`, `"userAgent"`, `"userIdentity":{"type":"IAMUser"`,
		`"principalId"`, `"arn":"arn:aws:iam::111122223333:user/alice"`, `"accessKeyId":"AKIAEXAMPLE"`, `"requestParameters":{`,
		`"responseElements":null`, `"errorCode":"AccessDeniedException"`, `"errorMessage"`, `"requestID":"req-1"`, `"eventID":"`,
		`"readOnly":false`, `"resources":[{"ARN":`, `"eventType":"AwsApiCall"`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("record lacks %s:\n%s", key, data)
		}
	}
	if bytes.Count(data, []byte("\n")) != 1 || data[len(data)-1] != '\n' {
		t.Errorf("want one line: %q", data)
	}
	got := queryAll(t, dir, Filter{})
	if len(got) != 1 || got[0].RequestID != "req-1" || len(got[0].EventID) != 36 || got[0].UserIdentity.UserName != "alice" {
		t.Errorf("read back %+v", got)
	}
}

type createKeyResponse struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	Nested          struct {
		SessionToken string           `json:"sessionToken"`
		Password     string           `json:"Password"`
		List         []map[string]any `json:"list"`
	} `json:"nested"`
}

func TestAppendRedactsSecrets(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir})
	resp := createKeyResponse{AccessKeyID: "AKIAVISIBLE", SecretAccessKey: "s3cr3t-AAA"}
	resp.Nested.SessionToken = "s3cr3t-BBB"
	resp.Nested.Password = "s3cr3t-CCC"
	resp.Nested.List = []map[string]any{{"privateKey": "s3cr3t-DDD", "ClientSecret": "s3cr3t-EEE"}}
	req := map[string]any{"nextToken": "page-2", "clientToken": "idem-1", "X-Amz-Security-Token": "s3cr3t-FFF"}
	r := sample(1)
	r.RequestParameters, r.ResponseElements = req, &resp
	if err := l.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, fileName(1)))
	if bytes.Contains(data, []byte("s3cr3t")) {
		t.Fatalf("secret written: %s", data)
	}
	for _, want := range []string{"AKIAVISIBLE", `"nextToken":"page-2"`, `"clientToken":"idem-1"`, `"secretAccessKey":"` + Hidden} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("missing %s in %s", want, data)
		}
	}
	if resp.SecretAccessKey != "s3cr3t-AAA" || req["X-Amz-Security-Token"] != "s3cr3t-FFF" {
		t.Error("Append modified the caller's values")
	}
}

func TestConcurrentAppendsAllDurableOnce(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	l := openT(t, Options{Dir: dir, MaxFileBytes: 32 << 10, MaxFiles: 1000, Registerer: reg})
	const workers, each = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := sample(i)
				r.RequestID = fmt.Sprintf("w%d-%d", w, i)
				if err := l.Append(context.Background(), r); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range queryAll(t, dir, Filter{}) {
		seen[r.RequestID]++
	}
	if len(seen) != workers*each {
		t.Errorf("%d distinct records, want %d", len(seen), workers*each)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s appears %d times", id, n)
		}
	}
	if got := counter(t, l.m.records); got != workers*each {
		t.Errorf("records metric %v", got)
	}
	if n := registered(t, reg, "trellis_audit_records_total", "trellis_audit_fsync_seconds", "trellis_audit_group_commit_records"); n != 3 {
		t.Errorf("%d metrics registered, want 3", n)
	}
	t.Logf("%d records, %d fsyncs (group commit), %v rotations", workers*each,
		histCount(t, l.m.fsync), counter(t, l.m.rotations))
}

func histCount(t testing.TB, h prometheus.Histogram) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// registered counts the metric families of reg among names.
func registered(t *testing.T, reg *prometheus.Registry, names ...string) int {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range fams {
		for _, name := range names {
			if f.GetName() == name {
				n++
			}
		}
	}
	return n
}

// TestRotationAtBound: a file holds records up to exactly MaxFileBytes; the
// next byte starts a new file; only MaxFiles files are kept.
func TestRotationAtBound(t *testing.T) {
	dir := t.TempDir()
	l0 := openT(t, Options{Dir: t.TempDir()})
	line, err := l0.encode(nil, sample(1))
	if err != nil {
		t.Fatal(err)
	}
	per := int64(len(line))
	l := openT(t, Options{Dir: dir, MaxFileBytes: 3 * per, MaxFiles: 2})
	for i := range 3 {
		r := sample(1)
		r.EventID = fmt.Sprintf("%036d", i) // same length as a UUID: every line is per bytes
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := listFiles(dir)
	if len(files) != 1 || fileSize(t, files[0].path) != 3*per {
		t.Fatalf("after 3 records at the bound: %d files", len(files))
	}
	for i := 3; i < 10; i++ {
		r := sample(1)
		r.EventID = fmt.Sprintf("%036d", i)
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	files, _ = listFiles(dir)
	if len(files) != 2 || files[0].seq != 3 || files[1].seq != 4 {
		t.Fatalf("files %+v, want sequences 3 and 4", files)
	}
	if got := len(queryAll(t, dir, Filter{})); got != 4 { // 3 in file 3, 1 in file 4
		t.Errorf("%d records kept, want 4", got)
	}
	if got := counter(t, l.m.rotations); got != 3 {
		t.Errorf("rotations %v, want 3", got)
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestRecordSizeBound: a record of exactly MaxRecordBytes (newline
// included) is kept whole; one byte more and its parameters are replaced.
func TestRecordSizeBound(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir})
	withSpec := func(n int) *Record {
		r := sample(1)
		r.EventID = "00000000-0000-4000-8000-000000000000"
		r.RequestParameters = map[string]string{"spec": strings.Repeat("x", n)}
		return r
	}
	base, err := l.encode(nil, withSpec(0))
	if err != nil {
		t.Fatal(err)
	}
	fit := MaxRecordBytes - len(base)
	for _, n := range []int{fit, fit + 1} {
		if err := l.Append(context.Background(), withSpec(n)); err != nil {
			t.Fatal(err)
		}
	}
	got := queryAll(t, dir, Filter{})
	if len(got) != 2 {
		t.Fatalf("%d records", len(got))
	}
	if spec := got[0].RequestParameters.(map[string]any)["spec"]; spec != strings.Repeat("x", fit) {
		t.Error("record at the bound was altered")
	}
	if got[1].RequestParameters.(map[string]any)["trellisTruncated"] != true {
		t.Errorf("record over the bound kept: %.80v", got[1].RequestParameters)
	}
	if n := counter(t, l.m.truncated); n != 1 {
		t.Errorf("truncated metric %v", n)
	}
	if st := fileSize(t, filepath.Join(dir, fileName(1))); st < MaxRecordBytes {
		t.Errorf("file %d bytes", st)
	}
}

func TestCloseAndBrokenLog(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := l.Append(ctx, sample(1)); err != nil {
		t.Fatal(err)
	}
	// A failing write breaks the log for good: no later call is acknowledged.
	l.f.Close()
	if err := l.Append(ctx, sample(2)); err == nil {
		t.Fatal("append to a closed file succeeded")
	}
	if err := l.Append(ctx, sample(3)); err == nil {
		t.Fatal("broken log accepted an append")
	}
	if got := counter(t, l.m.errors); got != 2 {
		t.Errorf("errors metric %v", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, sample(4)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	l2 := openT(t, Options{Dir: dir})
	if err := l2.Append(cctx, sample(5)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := Open(Options{}); err == nil {
		t.Fatal("Open without Dir")
	}
}
