package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/smithy-go/middleware"

	"github.com/trellis-mesh/trellis/internal/backup"
	"github.com/trellis-mesh/trellis/internal/registryapi"
	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// bigMesh sizes: with one mesh that is 1+600+300+600+600+100+300 = 2,501
// App Mesh resources of all 7 kinds, plus 200 registry instances.
const (
	bigNodes     = 600
	bigRouters   = 300
	bigGateways  = 100
	bigInstances = 200
	bigMesh      = "big"
	bigWorkers   = 8
)

// TestBackupRoundTripLargeMesh builds a large mesh through the AWS SDKs,
// takes an online backup over GET /admin/backup, restores it into a new
// data dir and compares every Describe (and every resource's tags, and
// every registry instance) before and after.
func TestBackupRoundTripLargeMesh(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 2,501 resources")
	}
	dir := t.TempDir()
	s, stop := startBackupServer(t, dir)
	c := newClient(s.Addr())
	start := time.Now()
	buildBigMesh(t, c)
	registerInstances(t, cloudMap(s.Addr()))
	t.Logf("built %d resources and %d instances in %v", bigTotal(), bigInstances, time.Since(start).Round(time.Millisecond))
	before := describeAll(t, c, cloudMap(s.Addr()))

	start = time.Now()
	file := getBackup(t, s.Addr())
	t.Logf("backup: %d bytes in %v", len(file), time.Since(start).Round(time.Millisecond))
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	restored := t.TempDir()
	start = time.Now()
	restoreInto(t, restored, file)
	t.Logf("restore: %v", time.Since(start).Round(time.Millisecond))
	s2, _ := startBackupServer(t, restored)
	after := describeAll(t, newClient(s2.Addr()), cloudMap(s2.Addr()))

	if len(before) != bigTotal()+bigInstances {
		t.Fatalf("described %d things before, want %d", len(before), bigTotal()+bigInstances)
	}
	vn0 := "arn:aws:appmesh:" + testRegion + ":" + testAccount + ":mesh/" + bigMesh + "/virtualNode/" + vnName(0)
	if b := before[vn0]; !strings.Contains(b, `"Version":2`) || !strings.Contains(b, `"Uid":"`) || !strings.Contains(b, `"idx"`) {
		t.Fatalf("describe of %s lacks version 2, uid or tags: %s", vn0, b)
	}
	diffs := 0
	for k, b := range before {
		if a := after[k]; a != b && diffs < 5 {
			diffs++
			t.Errorf("%s differs after restore:\nbefore %s\nafter  %s", k, b, a)
		}
	}
	if len(after) != len(before) {
		t.Errorf("described %d things after restore, %d before", len(after), len(before))
	}
}

func bigTotal() int {
	return 1 + bigNodes + bigRouters + 2*bigRouters + bigNodes + bigGateways + 3*bigGateways
}

func startBackupServer(t *testing.T, dir string) (*server.Server, func() error) {
	t.Helper()
	cfg := config(dir)
	cfg.RegistryTTL = time.Hour // instances must outlive the test untouched
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	stop := sync.OnceValue(s.Stop)
	t.Cleanup(func() { _ = stop() })
	return s, stop
}

func getBackup(t *testing.T, addr string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + addr + backup.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v: %s", backup.Path, resp.Status, err, b)
	}
	return b
}

func restoreInto(t *testing.T, dir string, file []byte) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(dir, "trellis.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := backup.Restore(t.Context(), st, bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restored %d keys of store revision %d", h.Keys, h.Revision)
}

// parallel runs n jobs on bigWorkers goroutines and fails on the first error.
func parallel(t *testing.T, n int, job func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range bigWorkers {
		wg.Go(func() {
			for i := range next {
				if err := job(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func cloudMap(addr string) *sd.Client {
	return sd.New(sd.Options{Region: testRegion, BaseEndpoint: aws.String("http://" + addr),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		APIOptions:  []func(*middleware.Stack) error{registryapi.NoHostPrefix}})
}

// jsonOf renders v for comparison; SDK outputs are plain structs.
func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "unencodable: " + err.Error()
	}
	return string(b)
}

func errorsJoin(errs ...error) error { return errors.Join(errs...) }
