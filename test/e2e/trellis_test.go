package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/trellis-mesh/trellis/internal/server"
)

// cp is a running control plane and an SDK client for it.
type cp struct {
	srv    *server.Server
	client *appmesh.Client
	ctx    context.Context
}

func startTrellis(t *testing.T) *cp {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TRELLIS_E2E_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := server.Start(server.Config{
		DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0",
		Region: "us-west-2", AccountID: "123456789012", Logger: log, ShutdownTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	client := appmesh.New(appmesh.Options{
		Region:       "us-west-2",
		BaseEndpoint: aws.String("http://" + srv.Addr()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	})
	return &cp{srv: srv, client: client, ctx: context.Background()}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
