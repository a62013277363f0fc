package cli

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// unreachable turns a failure to connect to the server into an error that
// says what to do; other errors are returned as they are.
func unreachable(endpoint string, err error) error {
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		err = fmt.Errorf("nothing is listening there (%w)", err)
	case errors.As(err, &dns):
		err = fmt.Errorf("the host name does not resolve (%w)", err)
	case errors.As(err, &op) && op.Op == "dial":
	default:
		return err
	}
	return fmt.Errorf("cannot reach the Trellis server at %s: %w\n"+
		"Start one with `trellis server` (or `trellis demo --keep`), or point the CLI at a running server "+
		"with --endpoint URL or TRELLIS_ENDPOINT=URL", endpoint, err)
}
