package audit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQueryFilters(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir, MaxFileBytes: 2048})
	bob := UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/ci/bob", AccessKeyID: "ASIABOB", PrincipalID: "AROABOB:bob"}
	for i := range 6 {
		r := sample(i)
		if i%2 == 1 {
			r.UserIdentity = bob
			r.EventName = "DeleteMesh"
			r.Resources = nil
			r.RequestParameters = map[string]any{"meshName": "payments"}
		}
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	at := func(s int) time.Time { return time.Date(2026, 12, 6, 21, 0, s, 0, time.UTC) }
	tests := []struct {
		name string
		f    Filter
		want string // request IDs in order
	}{
		{"all", Filter{}, "req-0 req-1 req-2 req-3 req-4 req-5"},
		{"since", Filter{Start: at(3)}, "req-3 req-4 req-5"},
		{"until is exclusive", Filter{End: at(2)}, "req-0 req-1"},
		{"window", Filter{Start: at(1), End: at(3)}, "req-1 req-2"},
		{"principal ARN", Filter{Principal: bob.ARN}, "req-1 req-3 req-5"},
		{"principal access key", Filter{Principal: "AKIAEXAMPLE"}, "req-0 req-2 req-4"},
		{"principal prefix is not enough", Filter{Principal: "AKIA"}, ""},
		{"event", Filter{EventName: "deletemesh"}, "req-1 req-3 req-5"},
		{"resource ARN substring", Filter{Resource: "route/r2"}, "req-2"},
		{"resource in requestParameters", Filter{Resource: "payments"}, "req-1 req-3 req-5"},
		{"mesh name matches both", Filter{Resource: "shop"}, "req-0 req-2 req-4"},
		{"combined", Filter{Principal: bob.ARN, Start: at(2), EventName: "DeleteMesh"}, "req-3 req-5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			for _, r := range queryAll(t, dir, tt.f) {
				ids = append(ids, r.RequestID)
			}
			if got := strings.Join(ids, " "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	stop := errors.New("stop")
	n := 0
	err := Query(dir, Filter{}, func(Record) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn error: %v after %d", err, n)
	}
}

// TestTornLastLine: a crash mid-write leaves a partial last line; Query
// skips it with a warning, and Open cuts it before appending.
func TestTornLastLine(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir})
	for i := range 3 {
		if err := l.Append(context.Background(), sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fileName(1))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"eventVersion":"1.08","eventTime":"2026-12-06T2`)
	f.Close()

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	var got []Record
	if err := QueryLog(dir, Filter{}, logger, func(r Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !strings.Contains(logs.String(), "torn") {
		t.Fatalf("%d records, log %q", len(got), logs.String())
	}

	logs.Reset()
	l2 := openT(t, Options{Dir: dir, Logger: logger})
	if !strings.Contains(logs.String(), "torn") {
		t.Errorf("Open did not warn: %q", logs.String())
	}
	if err := l2.Append(context.Background(), sample(3)); err != nil {
		t.Fatal(err)
	}
	if got := queryAll(t, dir, Filter{}); len(got) != 4 || got[3].RequestID != "req-3" {
		t.Errorf("after repair: %d records", len(got))
	}
}

func TestQuerySkipsDamage(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 2*MaxRecordBytes+10)
	content := `{"eventName":"A","requestID":"1"}` + "\n\nnot json\n" + `{"eventName":"B","requestID":"2"}` + "\n" + long + "\n" +
		`{"eventName":"C","requestID":"3"}` + "\n" + long
	if err := os.WriteFile(filepath.Join(dir, fileName(7)), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "unrelated.txt"), []byte("x"), 0o600)
	var ids []string
	for _, r := range queryAll(t, dir, Filter{}) {
		ids = append(ids, r.RequestID)
	}
	if strings.Join(ids, ",") != "1,2,3" {
		t.Errorf("got %v", ids)
	}
	if err := Query(filepath.Join(dir, "missing"), Filter{}, func(Record) error { return nil }); err == nil {
		t.Error("missing directory: no error")
	}
}

// FuzzQuery: any file content is read without panic or error.
func FuzzQuery(f *testing.F) {
	f.Add([]byte(`{"eventName":"A","eventTime":"2026-12-06T21:00:00Z","resources":[{"ARN":"x"}]}` + "\n"))
	f.Add([]byte("{\"requestParameters\":{\"a\":[1,2,{}]}}\n{\"eventTime\":5}\n{"))
	f.Add([]byte("\n\n\xff\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		flt := Filter{Start: time.Unix(0, 0), Resource: "x"}
		if err := queryReader(bytes.NewReader(data), "fuzz", flt, quiet(), func(Record) error { return nil }); err != nil {
			t.Fatal(err)
		}
		// Open's repair keeps exactly the complete lines.
		n, err := completeLength(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && data[n-1] != '\n' || bytes.IndexByte(data[n:], '\n') >= 0 {
			t.Fatalf("completeLength = %d of %d", n, len(data))
		}
	})
}
