package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/server"
)

// BenchmarkDescribeAuth measures DescribeMesh throughput through the
// official SDK client (which signs in both cases) against a server with
// authentication off and on; the difference is the server-side cost of
// SigV4 verification, the key lookup and unsealing the secret.
//
//	go test -run '^$' -bench DescribeAuth -benchtime 3s -cpu 2 ./internal/server/
func BenchmarkDescribeAuth(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "auth=off"
		if on {
			name = "auth=on"
		}
		b.Run(name, func(b *testing.B) {
			cfg := config(b.TempDir())
			cfg.Auth.Enabled = on
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
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("bench")}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "describes/s")
		})
	}
}
