// Package etcdtest starts real etcd clusters for tests: separate etcd
// processes on free loopback ports (picked below the kernel's ephemeral range,
// see freeAddr) with temporary data directories, with
// per-member kill -9, SIGSTOP/SIGCONT and restart for chaos tests.
//
// Every cluster is stopped at the end of the test that started it
// (t.Cleanup). Without an etcd binary the test is skipped, unless
// TRELLIS_REQUIRE_ETCD=1 is set (as in CI), when it fails instead.
// TRELLIS_ETCD_BIN names a binary other than the etcd found on PATH.
package etcdtest
