package interception

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Runner executes one command. A command that ran and failed is reported
// as a *CommandError, so callers can tell "no such rule" (exit status 1 of
// iptables -C / -S) from a missing binary.
type Runner func(ctx context.Context, c Command) error

// CommandError is a command that exited unsuccessfully.
type CommandError struct {
	Command  Command
	ExitCode int
	Stderr   string
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("%s: exit status %d", e.Command, e.ExitCode)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// ExecRunner runs the command with os/exec (c.Path looked up on PATH).
func ExecRunner(ctx context.Context, c Command) error {
	return PrefixRunner()(ctx, c)
}

// PrefixRunner runs every command behind a prefix, for example
// "ip", "netns", "exec", "pod-a" to apply the rules inside a network
// namespace, or "nsenter", "-t", "<pid>", "-n". No prefix is ExecRunner.
func PrefixRunner(prefix ...string) Runner {
	return func(ctx context.Context, c Command) error {
		argv := append(append(append([]string{}, prefix...), c.Path), c.Args...)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if err == nil {
			return nil
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &CommandError{Command: c, ExitCode: ee.ExitCode(), Stderr: stderr.String()}
		}
		return fmt.Errorf("%s: %w", c, err)
	}
}
