package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/console"
)

// ConsoleCommand is `trellis console`: the web console on a local port,
// its API calls forwarded to the server (see console.Proxy), each signed
// with the operator's credentials found as the aws CLI finds them (none:
// unsigned, for a server with authentication off). sign, when not nil,
// replaces that signing (tests).
func ConsoleCommand(sign func(*http.Request) error) *cobra.Command {
	def := os.Getenv("TRELLIS_ENDPOINT")
	if def == "" {
		def = DefaultEndpoint
	}
	var endpoint, listen string
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Open the web console on a local port, forwarding its read-only API calls to the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := url.Parse(endpoint)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("invalid endpoint %q: want http(s)://host:port", endpoint)
			}
			if sign == nil {
				sg, err := newSigning("appmesh")
				if err != nil {
					return err
				}
				sign = func(r *http.Request) error { return sg.sign(r, nil) }
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serveConsole(ctx, cmd, listen, console.ProxyOptions{Endpoint: u, Sign: sign})
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint", def, "Trellis API endpoint (env TRELLIS_ENDPOINT)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9090", "local address of the console (loopback only)")
	return cmd
}

// serveConsole serves the proxy on listen until ctx ends.
func serveConsole(ctx context.Context, cmd *cobra.Command, listen string, o console.ProxyOptions) error {
	host, _, err := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		return fmt.Errorf("--listen %q: the console proxy signs with your credentials, so it listens on loopback only", listen)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	srv := &http.Server{Handler: console.Proxy(o), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(cmd.OutOrStdout(), "Console: http://%s%s (API %s). Ctrl-C stops it.\n", ln.Addr(), console.Path, o.Endpoint)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx) // event streams are cut by Close below
	srv.Close()
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
