package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/apiserver"
	"github.com/trellis-mesh/trellis/internal/server"
)

func serverCommand() *cobra.Command {
	cfg := server.Config{}
	var logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: the App Mesh API on an embedded store",
		Long: `Run the Trellis control plane. It serves the AWS App Mesh API (2019-01-25)
on --api-addr, so existing tools work against it:

  export AWS_REGION=us-east-1 AWS_SHARED_CREDENTIALS_FILE=trellis-data/admin-credentials
  aws appmesh list-meshes --endpoint-url http://127.0.0.1:9080

Requests must be SigV4-signed (--auth, on by default). At first start the
server writes an admin access key, once, to <data-dir>/admin-credentials;
manage more keys and policies with ` + "`trellis admin`" + `.

State lives in a bbolt file under --data-dir; every acknowledged write is
durable. SIGINT/SIGTERM stop the server gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			if len(cfg.AccountID) != 12 || strings.Trim(cfg.AccountID, "0123456789") != "" {
				return fmt.Errorf("--account-id must be 12 digits, got %q", cfg.AccountID)
			}
			cfg.Logger = log
			applyInsecure(&cfg)
			log.Debug("garbage collector target", "gogc", server.TuneGC())
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return server.Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", "trellis-data", "directory of the embedded store (trellis.db)")
	f.StringVar(&cfg.APIAddr, "api-addr", "127.0.0.1:9080", "listen address of the App Mesh REST API")
	f.StringVar(&cfg.XDSAddr, "xds-addr", "127.0.0.1:9081", "listen address of the xDS (ADS over gRPC) server for Envoy; empty disables it")
	f.StringVar(&cfg.XDSTLSCert, "xds-tls-cert", "", "PEM certificate (chain) of the xDS server; with --xds-tls-key the --xds-addr listener serves gRPC over TLS, as stock App Mesh Envoys (APPMESH_XDS_ENDPOINT=host:port) require")
	f.StringVar(&cfg.XDSTLSKey, "xds-tls-key", "", "PEM private key for --xds-tls-cert")
	f.StringVar(&cfg.XDSUnixSocket, "xds-unix-socket", "", "path of an additional plaintext xDS listener on a Unix socket (APPMESH_XDS_ENDPOINT=unix:///path); a stale socket is replaced, mode 0660")
	f.StringVar(&cfg.Region, "region", "us-east-1", "region used in ARNs")
	f.StringVar(&cfg.AccountID, "account-id", "111122223333", "12-digit account id used in ARNs, meshOwner and resourceOwner")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may run after SIGTERM")
	f.DurationVar(&cfg.APILimits.ReadTimeout, "api-read-timeout", apiserver.DefaultReadTimeout, "how long a client may take to send a whole API request (headers and body)")
	f.DurationVar(&cfg.APILimits.IdleTimeout, "api-idle-timeout", apiserver.DefaultIdleTimeout, "how long an idle keep-alive API connection stays open")
	f.IntVar(&cfg.APILimits.MaxConns, "api-max-connections", apiserver.DefaultMaxConns, "most open API connections; more are answered 503")
	addAuthFlags(cmd, &cfg)
	addCAFlags(cmd, &cfg.CA)
	addXDSLimitFlags(cmd, &cfg.XDSLimits)
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	addStoreFlags(cmd, &cfg.Store)
	return cmd
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}
