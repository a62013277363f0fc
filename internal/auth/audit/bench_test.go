package audit

import (
	"context"
	"testing"
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
