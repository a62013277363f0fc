package demo

import (
	"context"
	"time"
)

// startConsole runs `trellis console` next to the server: the server has
// authentication on and a browser cannot sign requests, so the console is
// served on a loopback port by the local proxy, which signs its read calls
// with the demo's admin key (r.env). It returns the console's URL.
func (r *run) startConsole(ctx context.Context) (string, error) {
	addr, err := freeAddr("127.0.0.1")
	if err != nil {
		return "", err
	}
	if err := r.start("console", "console", "--endpoint", r.apiURL, "--listen", addr); err != nil {
		return "", err
	}
	url := "http://" + addr + "/ui/"
	if err := r.waitOK(ctx, "console", url, 15*time.Second); err != nil {
		return "", err
	}
	return url, nil
}
