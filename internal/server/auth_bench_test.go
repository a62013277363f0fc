package server_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/trellis-mesh/trellis/internal/auth"
	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/server"
)

type nopAuditor struct{}

func (nopAuditor) Append(context.Context, *auth.Event) error { return nil }

// BenchmarkDescribeAuth measures DescribeMesh throughput through the
// official SDK client (which signs in both cases) against a server with
// authentication off and on; the difference is the server-side cost of
// SigV4 verification, the key lookup, unsealing the secret and policy
// evaluation, and with audit=on also of the fsynced audit record.
//
//	go test -run '^$' -bench DescribeAuth -benchtime 3s -cpu 2 ./internal/server/
func BenchmarkDescribeAuth(b *testing.B) { benchDescribeAuth(b, 4) }

// BenchmarkDescribeAuthConcurrent is BenchmarkDescribeAuth with 32 and 64
// callers sharing one SDK client and its keep-alive connections: the load
// the ≤ 10 % goal is about. It reports describes/s as well as CPU per call,
// and the audit log's records per fsync.
//
//	go test -run '^$' -bench DescribeAuthConcurrent -benchtime 4000x -cpu 2 ./internal/server/
func BenchmarkDescribeAuthConcurrent(b *testing.B) {
	for _, callers := range []int{32, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			procs := runtime.GOMAXPROCS(0)
			benchDescribeAuth(b, (callers+procs-1)/procs)
		})
	}
}

// benchDescribeAuth runs the three variants with callersPerCPU goroutines
// per GOMAXPROCS.
func benchDescribeAuth(b *testing.B, callersPerCPU int) {
	for _, bc := range []struct {
		name      string
		on, audit bool
	}{{"auth=off", false, false}, {"auth=on,audit=off", true, false}, {"auth=on,audit=on", true, true}} {
		on, audit := bc.on, bc.audit
		b.Run(bc.name, func(b *testing.B) {
			s, client := startBenchServer(b, on, audit, callersPerCPU*runtime.GOMAXPROCS(0))
			ctx := context.Background()
			b.SetParallelism(callersPerCPU) // concurrent callers let the audit log group its fsyncs
			cpu0, wall0 := cpuTime(), time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("bench")}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			// CPU time of the process (client and server) per call: unlike
			// wall time it does not depend on what else the machine runs.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/describe")
			b.ReportMetric(float64(b.N)/time.Since(wall0).Seconds(), "describes/s")
			if bc.audit {
				reportGroupCommit(b, s.MetricsAddr())
			}
		})
	}
}

// startBenchServer starts a server with authentication on or off and,
// when on, the durable audit log or a no-op auditor; it returns it with an
// official SDK client (signing in every case) that keeps conns idle
// connections, and the mesh "bench" created. The server stops at the end
// of the benchmark.
func startBenchServer(b *testing.B, on, audit bool, conns int) (*server.Server, *appmesh.Client) {
	cfg := config(b.TempDir())
	cfg.Auth.Enabled = on
	cfg.Metrics.Addr = "127.0.0.1:0" // to read the audit log's group commit figures
	if on && !audit {
		cfg.Auth.Audit = nopAuditor{}
	}
	s, err := server.Start(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Stop() })
	var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", "")
	if on {
		c, err := awscreds.FromFile(s.AdminCredentialsFile(), "default")
		if err != nil {
			b.Fatal(err)
		}
		creds = awscreds.Provider{Creds: c}
	}
	// Keep one idle connection per caller so every call reuses one.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = conns
	})
	client := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: aws.String("http://" + s.Addr()),
		Credentials: creds, HTTPClient: httpClient})
	if _, err := client.CreateMesh(context.Background(), &appmesh.CreateMeshInput{MeshName: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	return s, client
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportGroupCommit reports the audit log's mean records per fsync and mean
// fsync time, from the server's metrics.
func reportGroupCommit(b *testing.B, addr string) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	fams, err := parseText(resp)
	if err != nil {
		b.Fatal(err)
	}
	batch := fams["trellis_audit_group_commit_records"].GetMetric()[0].GetHistogram()
	fsync := fams["trellis_audit_fsync_seconds"].GetMetric()[0].GetHistogram()
	if n := batch.GetSampleCount(); n > 0 {
		b.ReportMetric(batch.GetSampleSum()/float64(n), "records/fsync")
	}
	if n := fsync.GetSampleCount(); n > 0 {
		b.ReportMetric(fsync.GetSampleSum()/float64(n)*1e6, "µs/fsync")
	}
	// The leader's wait for more records before a commit (CommitDelay).
	if f := fams["trellis_audit_commit_wait_seconds"]; f != nil && batch.GetSampleCount() > 0 {
		wait, commits := f.GetMetric()[0].GetHistogram(), float64(batch.GetSampleCount())
		b.ReportMetric(float64(wait.GetSampleCount())/commits, "waits/commit")
		b.ReportMetric(wait.GetSampleSum()/commits*1e6, "wait-µs/commit")
	}
}
