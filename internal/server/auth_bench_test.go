package server_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
func BenchmarkDescribeAuth(b *testing.B) {
	for _, bc := range []struct {
		name      string
		on, audit bool
	}{{"auth=off", false, false}, {"auth=on,audit=off", true, false}, {"auth=on,audit=on", true, true}} {
		on := bc.on
		b.Run(bc.name, func(b *testing.B) {
			cfg := config(b.TempDir())
			cfg.Auth.Enabled = on
			if on && !bc.audit {
				cfg.Auth.Audit = nopAuditor{}
			}
			s, err := server.Start(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Stop()
			var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", "")
			if on {
				c, err := awscreds.FromFile(s.AdminCredentialsFile(), "default")
				if err != nil {
					b.Fatal(err)
				}
				creds = awscreds.Provider{Creds: c}
			}
			client := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: aws.String("http://" + s.Addr()), Credentials: creds})
			ctx := context.Background()
			if _, err := client.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("bench")}); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(4) // 4 callers per CPU: lets the audit log group its fsyncs
			cpu0 := cpuTime()
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
		})
	}
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
