package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkAppendParallel measures durable appends from many goroutines:
// group commit lets them share fsyncs. It reports records per fsync.
func BenchmarkAppendParallel(b *testing.B) {
	l, err := Open(Options{Dir: b.TempDir(), Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.SetParallelism(16)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Append(context.Background(), sample(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/record")
	fs := histCount(b, l.m.fsync)
	if fs > 0 {
		b.ReportMetric(float64(b.N)/float64(fs), "records/fsync")
	}
}

// BenchmarkAppendSerial is one caller at a time: one fsync per record.
func BenchmarkAppendSerial(b *testing.B) {
	l, err := Open(Options{Dir: b.TempDir(), Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for b.Loop() {
		if err := l.Append(context.Background(), sample(1)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode is the cost of one record's JSON line: the lean encoder
// the Log uses, against encoding/json with Redact (the reference it
// matches byte for byte). The record is a DescribeMesh's (no body).
//
//	go test -run '^$' -bench Encode -benchmem ./internal/auth/audit/
func BenchmarkEncode(b *testing.B) {
	r := sample(1)
	r.RequestParameters = nil
	r.EventVersion, r.EventID, r.EventType = EventVersion, "5f0b5a43-5cc6-4a8e-9b55-0f0f6e3b2a10", "AwsApiCall"
	b.Run("lean", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = appendRecord(buf[:0], r)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonMarshalRecord(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// cpuTime is the user+system CPU time this process has used: unlike wall
// time it does not depend on what else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSyncModes is the CPU of making one group commit durable (a
// 6 KiB write, about 14 records, then a sync) in five ways: appending and
// fsync (the log before issue 12's cuts), appending and fdatasync (the log
// now), overwriting a pre-zeroed file and fdatasync, appending into space
// preallocated with fallocate(FALLOC_FL_KEEP_SIZE) and fdatasync, and
// appending with O_DSYNC (one syscall). Only the pre-zeroed file is
// cheaper, and it is not used (see BENCHMARKS.md): with KEEP_SIZE the file
// size still changes on every append, so the sync still writes the inode.
//
//	go test -run '^$' -bench SyncModes -benchtime 1000x ./internal/auth/audit/
func BenchmarkSyncModes(b *testing.B) {
	batch := bytes.Repeat([]byte("x"), 6<<10)
	for _, mode := range []string{"append+fsync", "append+fdatasync", "prezeroed+fdatasync",
		"fallocate-keep-size+fdatasync", "append-odsync"} {
		b.Run(mode, func(b *testing.B) {
			f := openSyncFile(b, mode, (b.N+1)*len(batch))
			defer f.Close()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				if _, err := f.WriteAt(batch, int64(i*len(batch))); err != nil {
					b.Fatal(err)
				}
				var err error
				switch mode {
				case "append+fsync":
					err = f.Sync()
				case "append-odsync": // the write was the sync
				default:
					err = unix.Fdatasync(int(f.Fd()))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/sync")
		})
	}
}

// openSyncFile opens BenchmarkSyncModes's file for mode, preparing size
// bytes when the mode preallocates.
func openSyncFile(b *testing.B, mode string, size int) *os.File {
	flags := os.O_RDWR | os.O_CREATE
	if mode == "append-odsync" {
		flags |= unix.O_DSYNC
	}
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "sync"), flags, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	switch mode {
	case "prezeroed+fdatasync":
		_, err = f.WriteAt(make([]byte, size), 0)
	case "fallocate-keep-size+fdatasync":
		err = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, int64(size))
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		b.Fatal(err)
	}
	return f
}
