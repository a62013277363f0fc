// Command dataplane measures what Trellis's configuration costs Envoy
// (issue 9 item 6). It runs two copies of the same two-hop path side by
// side and loads them alternately with fortio:
//
//	client → front Envoy (egress) → back Envoy (ingress) → app
//
// One copy is configured by Trellis: a `trellis server` child process and
// two `trellis sidecar` child processes (interception none, one loopback
// address each), exactly as a user would run them. The other is two Envoys
// started from a hand-written static bootstrap of the same shape (a
// listener with an HTTP connection manager routing the virtual service's
// host to one STATIC cluster on the front; a listener routing everything
// to the app on the back). Both paths end at the same Go app.
//
// It prints latency percentiles at a fixed request rate and the maximum
// throughput (closed loop, no wait) for each path, and the ratios; it
// asserts nothing. Runs alternate Trellis/static per round so drift on a
// shared machine hits both alike.
//
//	go build -o bin/trellis ./cmd/trellis && go run ./bench/dataplane -trellis bin/trellis
package main
