// Package freeport picks TCP ports that are bound later, often by another
// process: Envoy admin ports, sidecar agent addresses, the server's API and
// xDS addresses that tests, benchmarks and `trellis demo` hand to children.
//
// A port picked with ":0" comes from the kernel's ephemeral range, and
// between the pick and the later bind (seconds, or a restart after an
// outage) the kernel may hand that same port to any process's outgoing
// connection or ":0" listener; the bind then fails with "address already
// in use" (CI runs two packages' tests at once). So ports are picked at
// random in [Floor, the start of the ephemeral range), which the kernel
// never hands out, and checked to be free on every address given. When the
// range leaves no room below it, the kernel's choice (":0") is used.
//
// It is a leaf room: standard library only, no state (each call reads
// net.ipv4.ip_local_port_range afresh).
package freeport
