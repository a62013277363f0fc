package backup

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

func openStore(t *testing.T) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "trellis.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func put(t *testing.T, s store.Store, kv ...string) {
	t.Helper()
	var ops []store.Op
	for i := 0; i < len(kv); i += 2 {
		ops = append(ops, store.Put(kv[i], []byte(kv[i+1])))
	}
	if _, err := s.Txn(t.Context(), nil, ops); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, restoreOps, restoreOps + 1, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			src, dst := openStore(t), openStore(t)
			for i := range n {
				put(t, src, fmt.Sprintf("k/%04d", i), fmt.Sprintf("v%d", i))
			}
			var buf bytes.Buffer
			h, err := Dump(t.Context(), src, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if h.Keys != n || h.Revision != int64(n) {
				t.Errorf("header = %+v, want %d keys at revision %d", h, n, n)
			}
			counting := &countingStore{Store: dst}
			if _, err := Restore(t.Context(), counting, &buf); err != nil {
				t.Fatal(err)
			}
			if want := (n + restoreOps - 1) / restoreOps; counting.txns != want {
				t.Errorf("restore used %d Txns, want %d (batches of %d)", counting.txns, want, restoreOps)
			}
			want, _, _ := src.List(t.Context(), "", store.ListOptions{})
			got, _, _ := dst.List(t.Context(), "", store.ListOptions{})
			if len(got) != len(want) {
				t.Fatalf("restored %d keys, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].Key != want[i].Key || !bytes.Equal(got[i].Value, want[i].Value) {
					t.Errorf("key %d: got %s=%s, want %s=%s", i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
				}
			}
		})
	}
}

// TestRestoreBatchBytes: large values split batches below restoreOps.
func TestRestoreBatchBytes(t *testing.T) {
	val := string(bytes.Repeat([]byte("x"), restoreBytes/4))
	recs := make([]Record, 9)
	for i := range recs {
		recs[i] = Record{Key: fmt.Sprintf("k/%d", i), Value: []byte(val)}
	}
	var buf bytes.Buffer
	if err := Write(&buf, Header{}, recs); err != nil {
		t.Fatal(err)
	}
	counting := &countingStore{Store: openStore(t)}
	if _, err := Restore(t.Context(), counting, &buf); err != nil {
		t.Fatal(err)
	}
	if counting.txns != 3 { // 4 + 4 + 1 values of a quarter of the bound
		t.Errorf("restore used %d Txns, want 3", counting.txns)
	}
}

func TestRestoreRefusesNonEmpty(t *testing.T) {
	src, dst := openStore(t), openStore(t)
	put(t, src, "a", "1")
	put(t, dst, "zzz", "keep me")
	var buf bytes.Buffer
	if _, err := Dump(t.Context(), src, &buf); err != nil {
		t.Fatal(err)
	}
	_, err := Restore(t.Context(), dst, &buf)
	if !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Restore into a non-empty store: %v, want ErrNotEmpty", err)
	}
	if want := "backup: the target store is not empty: it holds 1 keys; restore only into an empty store"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// TestSnapshotConsistent: pairs written in one Txn are in a snapshot both
// or neither, while writes run.
func TestSnapshotConsistent(t *testing.T) {
	s := openStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			_, _ = s.Txn(ctx, nil, []store.Op{store.Put(fmt.Sprintf("a/%06d", i), nil), store.Put(fmt.Sprintf("b/%06d", i), nil)})
		}
	})
	defer wg.Wait()
	defer cancel()
	for range 20 {
		h, recs, err := Snapshot(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs)%2 != 0 || int64(len(recs)) != 2*h.Revision {
			t.Fatalf("snapshot at revision %d has %d keys, want %d", h.Revision, len(recs), 2*h.Revision)
		}
	}
}

// TestReadRejectsDamage: any flipped byte, a cut or a tail is ErrFormat.
func TestReadRejectsDamage(t *testing.T) {
	var good bytes.Buffer
	recs := []Record{{Key: "a", Value: []byte("1"), ModRevision: 1, CreateRevision: 1}, {Key: "b", Value: []byte("22")}}
	if err := Write(&good, Header{Revision: 7}, recs); err != nil {
		t.Fatal(err)
	}
	if h, got, err := Read(bytes.NewReader(good.Bytes())); err != nil || h.Revision != 7 || len(got) != 2 {
		t.Fatalf("Read of a good file = %+v, %d records, %v", h, len(got), err)
	}
	b := good.Bytes()
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x01
		if _, _, err := Read(bytes.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("flip of byte %d: %v, want ErrFormat", i, err)
		}
	}
	for _, bad := range [][]byte{b[:len(b)-1], b[:len(b)/2], nil, append(bytes.Clone(b), 0)} {
		if _, _, err := Read(bytes.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("%d of %d bytes: %v, want ErrFormat", len(bad), len(b), err)
		}
	}
}

// FuzzRead: the reader of untrusted backup files never panics, and what it
// accepts writes back to the same bytes.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	_ = Write(&buf, Header{Revision: 3}, []Record{{Key: "k", Value: []byte("v"), CreateRevision: 1, ModRevision: 3}})
	f.Add(buf.Bytes())
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, recs, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		var again bytes.Buffer
		if err := Write(&again, h, recs); err != nil {
			t.Fatal(err)
		}
		h2, recs2, err := Read(&again)
		if err != nil || h2.Keys != h.Keys || len(recs2) != len(recs) {
			t.Fatalf("re-read of an accepted file: %+v %d %v", h2, len(recs2), err)
		}
	})
}

// countingStore counts Txns.
type countingStore struct {
	store.Store
	txns int
}

func (c *countingStore) Txn(ctx context.Context, cmps []store.Compare, ops []store.Op) (int64, error) {
	c.txns++
	return c.Store.Txn(ctx, cmps, ops)
}

// TestReadBounds: lengths at a bound are read, one past it refused before
// anything is allocated.
func TestReadBounds(t *testing.T) {
	atBound := []Record{{Key: strings.Repeat("k", maxKeyLen), Value: bytes.Repeat([]byte("v"), maxValueLen)}}
	var buf bytes.Buffer
	if err := Write(&buf, Header{}, atBound); err != nil {
		t.Fatal(err)
	}
	if _, recs, err := Read(&buf); err != nil || len(recs) != 1 {
		t.Fatalf("key and value at their bounds: %d records, %v", len(recs), err)
	}
	uv := func(n uint64) []byte { return binary.AppendUvarint(nil, n) }
	head := append([]byte(magic), uv(uint64(len(`{"version":1,"keys":1}`)))...)
	head = append(head, `{"version":1,"keys":1}`...)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"header", append([]byte(magic), uv(maxHeaderLen+1)...), "header length 65537 exceeds 65536"},
		{"key", append(append(bytes.Clone(head), recordTag), uv(maxKeyLen+1)...), "record 0: key length 65537 exceeds 65536"},
		{"value", append(append(append(bytes.Clone(head), recordTag), uv(1)...), append([]byte("k"), append(uv(0), append(uv(0), uv(maxValueLen+1)...)...)...)...),
			"record 0: value length 16777217 exceeds 16777216"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Read(bytes.NewReader(tt.file))
			if !errors.Is(err, ErrFormat) || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrFormat ending %q", err, tt.want)
			}
		})
	}
}
