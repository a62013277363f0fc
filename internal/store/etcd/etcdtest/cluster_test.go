package etcdtest

import (
	"context"
	"testing"
	"time"
)

// TestClusterChaos starts three members, kills the leader, checks the
// others keep serving, restarts it, and freezes/thaws a member.
func TestClusterChaos(t *testing.T) {
	c := Start(t, 3)
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := cli.Put(ctx, "k", "1"); err != nil {
		t.Fatalf("put: %v", err)
	}
	leader := c.Leader(t)
	c.Kill(t, leader)
	if c.Members()[leader].Running() {
		t.Fatal("killed member still running")
	}
	c.WaitHealthy(t)
	if _, err := cli.Put(ctx, "k", "2"); err != nil {
		t.Fatalf("put after leader kill: %v", err)
	}
	c.Restart(t, leader)
	other := (leader + 1) % 3
	c.Stop(t, other)
	// A request pinned to the frozen member hangs until its deadline; the
	// client moves on once keepalive declares the connection dead.
	var err error
	for range 20 {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = cli.Put(pctx, "k", "3")
		pcancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("put with a member frozen: %v", err)
	}
	c.Cont(t, other)
	c.WaitHealthy(t)
	resp, err := cli.Get(ctx, "k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "3" {
		t.Fatalf("get = %v, %v; want 3", resp, err)
	}
}
