package demo

import "syscall"

// sysProcAttr gives each child its own process group (so a terminal's
// Ctrl-C reaches only the demo, which then stops them in order) and has the
// kernel kill the child if the demo dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
