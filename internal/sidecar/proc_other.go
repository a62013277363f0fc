//go:build !linux

package sidecar

import "syscall"

// sysProcAttr: only Linux gets Envoy its own process group and a parent
// death signal (see proc_linux.go); elsewhere Envoy inherits the defaults.
func sysProcAttr() *syscall.SysProcAttr { return nil }
