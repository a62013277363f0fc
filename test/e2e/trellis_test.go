package e2e

import (
	"cmp"
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

func startTrellis(t *testing.T) *cp { return startTrellisWith(t, server.Config{}, nil) }

// startTrellisWith starts a control plane on a temporary store with cfg's
// settings, API and xDS on free loopback ports unless cfg names addresses.
// Its log goes to logs at debug level when logs is set, to stderr under
// TRELLIS_E2E_LOG, else nowhere.
func startTrellisWith(t *testing.T, cfg server.Config, logs io.Writer) *cp {
	t.Helper()
	var ws []io.Writer
	if logs != nil {
		ws = append(ws, logs)
	}
	if os.Getenv("TRELLIS_E2E_LOG") != "" {
		ws = append(ws, os.Stderr)
	}
	cfg.DataDir = t.TempDir()
	cfg.APIAddr = cmp.Or(cfg.APIAddr, "127.0.0.1:0")
	cfg.XDSAddr = cmp.Or(cfg.XDSAddr, "127.0.0.1:0")
	cfg.Region, cfg.AccountID, cfg.ShutdownTimeout = "us-west-2", "123456789012", 2*time.Second
	cfg.Logger = slog.New(slog.DiscardHandler)
	if len(ws) > 0 {
		cfg.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(ws...), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := server.Start(cfg)
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
