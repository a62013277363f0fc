// Package etcdbench starts a 3-member etcd cluster on loopback for the
// benchmark programs, with the tests' harness (internal/store/etcd/
// etcdtest): a failure prints and exits the program.
package etcdbench
