package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/trellis-mesh/trellis/internal/auth/audit"
	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/server"
)

// auditChildEnv selects the child mode of TestAuditSurvivesKill9 (its value
// is the data dir).
const auditChildEnv = "TRELLIS_AUDIT_CRASH_CHILD"

// TestAuditSurvivesKill9: a server with auth and the audit log takes
// concurrent signed CreateMesh calls and is killed with SIGKILL; every call
// it acknowledged has exactly one audit record with its principal.
func TestAuditSurvivesKill9(t *testing.T) {
	if dir := os.Getenv(auditChildEnv); dir != "" {
		cfg := config(dir)
		cfg.Auth.Enabled = true
		s, err := server.Start(cfg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "child: %v\n", err)
			os.Exit(2)
		}
		fmt.Printf("ADDR %s\n", s.Addr())
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAuditSurvivesKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), auditChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := sync.OnceFunc(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	t.Cleanup(kill)
	addrs := make(chan string, 1)
	go readAddr(stdout, addrs)
	var addr string
	select {
	case a, ok := <-addrs:
		if !ok {
			t.Fatal("child exited before reporting its address")
		}
		addr = a
	case <-time.After(10 * time.Second):
		t.Fatal("child did not start")
	}
	creds, err := awscreds.FromFile(filepath.Join(dir, "admin-credentials"), "default")
	if err != nil {
		t.Fatal(err)
	}
	client := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: aws.String("http://" + addr),
		Credentials: awscreds.Provider{Creds: creds}, Retryer: aws.NopRetryer{}})

	var down atomic.Bool
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := 0; !down.Load(); j++ {
				name := fmt.Sprintf("m%d-%d", i, j)
				if _, err := client.CreateMesh(context.Background(), &appmesh.CreateMeshInput{MeshName: aws.String(name)}); err == nil {
					mu.Lock()
					acked[name] = true
					mu.Unlock()
				}
			}
		})
	}
	// Kill once a few calls were acknowledged (far under the 1,000-mesh
	// limit, so the kill lands mid-write); 30 s only bounds a hang.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 100 {
			break
		}
	}
	down.Store(true)
	kill()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no call was acknowledged before the kill")
	}

	seen := map[string]int{}
	err = audit.Query(filepath.Join(dir, "audit"), audit.Filter{EventName: "CreateMesh"}, func(r audit.Record) error {
		params, _ := r.RequestParameters.(map[string]any)
		name, _ := params["meshName"].(string)
		if r.ErrorCode == "" && r.UserIdentity.ARN == "arn:aws:iam::"+testAccount+":user/admin" {
			seen[name]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range acked {
		if seen[name] != 1 {
			t.Errorf("acknowledged CreateMesh %s has %d audit records, want 1", name, seen[name])
		}
	}
	t.Logf("%d acknowledged calls, %d successful CreateMesh records after kill -9", len(acked), len(seen))
}
