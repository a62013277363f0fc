package sidecar

import "syscall"

// sysProcAttr puts Envoy in its own process group, so a terminal's Ctrl-C
// reaches only the sidecar (which then drains), and has the kernel kill
// Envoy if the sidecar dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
