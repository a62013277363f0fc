package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

// TestAppendRecordMatchesEncodingJSON: the lean encoder writes exactly what
// json.Marshal writes for the redacted Record, or declines.
func TestAppendRecordMatchesEncodingJSON(t *testing.T) {
	full := sample(7)
	full.EventVersion, full.EventID, full.EventType, full.RecipientAccountID = EventVersion, "e", "AwsApiCall", "111122223333"
	full.ErrorCode, full.ErrorMessage = "AccessDeniedException", `user "a" <b> & c`
	full.ReadOnly = true
	full.Resources = append(full.Resources, Resource{ARN: "arn:x"})
	for _, tc := range []struct {
		name    string
		r       *Record
		decline bool
	}{
		{name: "sample", r: sample(1)},
		{name: "every field", r: full},
		{name: "empty", r: &Record{}},
		{name: "empty resources", r: &Record{Resources: []Resource{}}},
		{name: "secrets at depth", r: &Record{RequestParameters: map[string]any{
			"a": []any{map[string]any{"SecretAccessKey": "s", "x": 1.5}}, "Password": map[string]any{"p": "q"},
			"nextToken": "n", "clientToken": "c", "sessionToken": nil}}},
		{name: "numbers", r: &Record{RequestParameters: map[string]any{"n": []any{0.0, -0.0, 1e20, 1e21, 1e-6, 1e-7,
			123456789.125, -2.5e-300, math.MaxFloat64, 3, float64(1 << 53)}}}},
		{name: "escapes", r: &Record{UserAgent: "a\x00\x1f\"\\\n\r\t\b\f<>&\u2028\u2029\x7f\xff\xc3é😀",
			RequestParameters: map[string]any{"k<&>\n": "v\u2028", "": true, "z": false, "m": map[string]any(nil), "s": []any(nil)}}},
		{name: "response elements", r: &Record{ResponseElements: map[string]any{"mesh": map[string]any{"meshName": "m"}}}},
		{name: "struct params", r: &Record{RequestParameters: map[string]string{"a": "b"}}, decline: true},
		{name: "json.Number", r: &Record{RequestParameters: map[string]any{"n": json.Number("1")}}, decline: true},
		{name: "invalid utf-8 value", r: &Record{RequestParameters: map[string]any{"s": "\xff"}}, decline: true},
		{name: "invalid utf-8 key", r: &Record{RequestParameters: map[string]any{"\xff": 1.0}}, decline: true},
		{name: "NaN", r: &Record{RequestParameters: map[string]any{"n": math.NaN()}}, decline: true},
		{name: "too deep", r: &Record{RequestParameters: nested(maxFastDepth + 2)}, decline: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := appendRecord([]byte("prefix"), tc.r)
			if ok == tc.decline {
				t.Fatalf("ok = %v, want %v", ok, !tc.decline)
			}
			if !ok {
				if string(got) != "prefix" {
					t.Fatalf("declined but left %q", got)
				}
				return
			}
			want, err := jsonMarshalRecord(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[len("prefix"):], want) {
				t.Errorf("lean encoder:\n%s\nencoding/json:\n%s", got[len("prefix"):], want)
			}
		})
	}
}

func nested(depth int) any {
	var v any = "leaf"
	for range depth {
		v = []any{v}
	}
	return map[string]any{"a": v}
}

// FuzzEncodeRecord: for any JSON request body (decoded as the auth
// middleware decodes it) and any string fields, the lean encoder writes
// what encoding/json writes, or declines; and the line decodes back.
func FuzzEncodeRecord(f *testing.F) {
	f.Add([]byte(`{"meshName":"shop","spec":{"x":[1,2.5,-1e-9,true,null,"<&>"]},"secretKey":"s"}`), "aws-cli/2 <x>", "\u2028")
	f.Add([]byte(`{"a":"\ud800","b":1e400}`), "\xff", "\x00")
	f.Add([]byte(`{}`), "", "")
	f.Fuzz(func(t *testing.T, body []byte, agent, msg string) {
		var params map[string]any
		if json.Unmarshal(body, &params) != nil {
			params = nil
		}
		r := sample(1)
		r.RequestParameters, r.UserAgent, r.ErrorMessage = params, agent, msg
		got, ok := appendRecord(nil, r)
		if !ok {
			return
		}
		want, err := jsonMarshalRecord(r)
		if err != nil {
			t.Fatalf("encoding/json failed on a record the lean encoder took: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("lean encoder:\n%s\nencoding/json:\n%s", got, want)
		}
		var back Record
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("line does not decode: %v", err)
		}
	})
}

// TestAppendWithdrawnOnCancel: a caller whose context ends while its record
// is still queued behind a commit withdraws it; the leader's commit and
// later appends are unaffected.
func TestAppendWithdrawnOnCancel(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir})
	// Hold the leader's role, as a commit in progress does.
	l.mu.Lock()
	l.leading = true
	l.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Append(ctx, sample(1)) }()
	waitFor(t, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return len(l.pending) == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled append: %v", err)
	}
	l.mu.Lock()
	left := len(l.pending)
	l.leading = false
	l.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d records left queued", left)
	}
	if err := l.Append(context.Background(), sample(2)); err != nil {
		t.Fatal(err)
	}
	if got := queryAll(t, dir, Filter{}); len(got) != 1 || got[0].RequestID != "req-2" {
		t.Fatalf("records %+v, want only req-2", got)
	}
}

// TestCloseWaitsForQueuedRecords: records queued before Close are all
// committed by their leaders before Close returns.
func TestCloseWaitsForQueuedRecords(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for i := range 32 {
		wg.Go(func() {
			if l.Append(context.Background(), sample(i)) == nil {
				mu.Lock()
				acked++
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := len(queryAll(t, dir, Filter{})); got != acked {
		t.Fatalf("%d records on disk, %d acknowledged", got, acked)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 5000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("condition not reached in 5 s")
}

// TestReleaseKeepsBuffersUpToTheBound: a line buffer of maxPooledLine
// bytes is kept for reuse, a larger one is dropped.
func TestReleaseKeepsBuffersUpToTheBound(t *testing.T) {
	l := openT(t, Options{Dir: t.TempDir()})
	for _, tc := range []struct {
		size int
		kept bool
	}{{maxPooledLine, true}, {maxPooledLine + 1, false}} {
		e := &entry{line: make([]byte, 0, tc.size), done: make(chan error, 1)}
		l.release(e)
		if kept := e.line != nil; kept != tc.kept {
			t.Errorf("buffer of %d bytes: kept %v, want %v", tc.size, kept, tc.kept)
		}
	}
}
