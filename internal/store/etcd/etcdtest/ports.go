package etcdtest

import "github.com/trellis-mesh/trellis/internal/freeport"

// freeAddr returns a loopback host:port that was free a moment ago. etcd
// binds it later (and binds it again when a killed member restarts), so
// it comes from freeport, which picks it below the kernel's ephemeral
// range: a port there is never handed out for another process's outgoing
// connection or its "port 0" listener in the meantime, which on a CI
// machine running several packages' tests at once otherwise fails a
// member with "bind: address already in use".
func freeAddr(t TB) string {
	t.Helper()
	addr, err := freeport.Addr("127.0.0.1")
	if err != nil {
		t.Fatalf("etcdtest: free port: %v", err)
	}
	return addr
}
