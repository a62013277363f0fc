package adsclient

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// RaiseFDLimit lifts the soft open-file limit to the hard one: each proxy
// costs a descriptor in each process.
func RaiseFDLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) // best effort; dials fail loudly if short
	}
}

// Child is the benchmark binary re-executed as the process holding the
// simulated proxies. Its stdin is its lifeline: the child runs until stdin
// closes.
type Child struct {
	cmd *exec.Cmd
	// Stdin writes to the child.
	Stdin io.WriteCloser
	// Stdout reads the child's output when StartChild got no writer for it.
	Stdout io.ReadCloser
}

// StartChild re-executes the running binary with args. Its stderr goes to
// ours; its stdout to stdout when not nil, else to the Stdout pipe.
func StartChild(stdout io.Writer, args ...string) (*Child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own binary: %w", err)
	}
	c := &Child{cmd: exec.Command(self, args...)}
	c.cmd.Stderr = os.Stderr
	if stdout != nil {
		c.cmd.Stdout = stdout
	} else if c.Stdout, err = c.cmd.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("child stdout: %w", err)
	}
	if c.Stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("child stdin: %w", err)
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start child: %w", err)
	}
	return c, nil
}

// Stop closes the child's stdin and waits for it to exit. With a Stdout
// pipe, close Stdin and read Stdout to its end before calling Stop.
func (c *Child) Stop() error {
	_ = c.Stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("child: %w", err)
	}
	return nil
}

// Kill ends the child with SIGKILL (kill -9) and reaps it.
func (c *Child) Kill() error {
	if err := c.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill child: %w", err)
	}
	_ = c.cmd.Wait() // "signal: killed"
	return nil
}
