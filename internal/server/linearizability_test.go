package server_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// A small sequential model of App Mesh resource semantics for one virtual
// node name: create (version 1, or ConflictException when it exists),
// update (version+1, or NotFoundException), describe (the current version,
// or NotFoundException) and delete (NotFoundException when absent). Calls
// whose outcome the client never learned (a 5xx, a dropped connection)
// may or may not have taken effect.

type opKind int

const (
	opCreate opKind = iota
	opUpdate
	opDescribe
	opDelete
)

func (k opKind) String() string { return [...]string{"create", "update", "describe", "delete"}[k] }

type resultKind int

const (
	resOK resultKind = iota
	resNotFound
	resConflict
	resUnknown
)

type lInput struct {
	op  opKind
	key string
}

type lOutput struct {
	res     resultKind
	version int64
}

// lState is one resource: absent (version 0) or present at a version.
type lState struct {
	exists  bool
	version int64
}

func stepResource(st any, in any, out any) []any {
	s, i, o := st.(lState), in.(lInput), out.(lOutput)
	var next lState
	var ok bool
	switch i.op {
	case opCreate:
		next, ok = lState{true, 1}, !s.exists
		if o.res == resConflict {
			return when(s.exists, s)
		}
	case opUpdate:
		next, ok = lState{true, s.version + 1}, s.exists
	case opDescribe:
		next, ok = s, s.exists
	case opDelete:
		next, ok = lState{}, s.exists
	}
	switch o.res {
	case resUnknown:
		if ok {
			return []any{s, next}
		}
		return []any{s}
	case resNotFound:
		return when(!s.exists, s)
	case resOK:
		// Every successful call reports the version it produced or read
		// (delete: the version it deleted).
		want := next.version
		if i.op == opDelete {
			want = s.version
		}
		return when(ok && o.version == want, next)
	}
	return nil
}

func when(cond bool, s lState) []any {
	if cond {
		return []any{s}
	}
	return nil
}

// resourceModel is the model, its history partitioned by resource name.
func resourceModel() porcupine.Model {
	nm := &porcupine.NondeterministicModel{
		Init: func() []any { return []any{lState{}} },
		Step: stepResource,
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[string][]porcupine.Operation{}
			var keys []string
			for _, op := range h {
				k := op.Input.(lInput).key
				if _, seen := byKey[k]; !seen {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		DescribeOperation: func(in, out any) string {
			i, o := in.(lInput), out.(lOutput)
			return fmt.Sprintf("%s(%s) -> %d v%d", i.op, i.key, o.res, o.version)
		},
	}
	return nm.ToModel()
}

// recorder collects the operations of concurrent SDK clients.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

func (r *recorder) now() int64 { return time.Since(r.start).Nanoseconds() }

// call runs one operation against c and records it.
func (r *recorder) call(t *testing.T, client int, c *appmesh.Client, in lInput) {
	call := r.now()
	out := doOp(t, c, in)
	ret := r.now()
	if out.res == resUnknown {
		if in.op == opDescribe {
			return // a read that returned nothing tells nothing
		}
		ret = math.MaxInt64 // it may take effect at any time after its call
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

// doOp performs in through the SDK and classifies the answer.
func doOp(t *testing.T, c *appmesh.Client, in lInput) lOutput {
	mesh, name := aws.String(testMesh), aws.String(in.key)
	var md *types.ResourceMetadata
	var err error
	switch in.op {
	case opCreate:
		var o *appmesh.CreateVirtualNodeOutput
		if o, err = c.CreateVirtualNode(t.Context(), &appmesh.CreateVirtualNodeInput{MeshName: mesh, VirtualNodeName: name, Spec: dnsNode(in.key + ".local")}); err == nil {
			md = o.VirtualNode.Metadata
		}
	case opUpdate:
		var o *appmesh.UpdateVirtualNodeOutput
		if o, err = c.UpdateVirtualNode(t.Context(), &appmesh.UpdateVirtualNodeInput{MeshName: mesh, VirtualNodeName: name, Spec: dnsNode(in.key + ".other")}); err == nil {
			md = o.VirtualNode.Metadata
		}
	case opDescribe:
		var o *appmesh.DescribeVirtualNodeOutput
		if o, err = c.DescribeVirtualNode(t.Context(), &appmesh.DescribeVirtualNodeInput{MeshName: mesh, VirtualNodeName: name}); err == nil {
			md = o.VirtualNode.Metadata
		}
	case opDelete:
		var o *appmesh.DeleteVirtualNodeOutput
		if o, err = c.DeleteVirtualNode(t.Context(), &appmesh.DeleteVirtualNodeInput{MeshName: mesh, VirtualNodeName: name}); err == nil {
			md = o.VirtualNode.Metadata
		}
	}
	var nf *types.NotFoundException
	var cf *types.ConflictException
	switch {
	case err == nil:
		return lOutput{res: resOK, version: aws.ToInt64(md.Version)}
	case errors.As(err, &nf):
		return lOutput{res: resNotFound}
	case errors.As(err, &cf):
		return lOutput{res: resConflict}
	}
	return lOutput{res: resUnknown}
}

// TestLinearizableAcrossReplicas records create/update/describe/delete
// calls of 6 clients on 4 names through 2 replicas while the etcd leader
// is killed, and checks the history with porcupine against the model.
// It then injects one stale read (a describe that returned the version
// before an update acknowledged earlier) and checks that the checker
// rejects it.
func TestLinearizableAcrossReplicas(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, _ := startReplica(t, c, "/linear/")
	b, _ := startReplica(t, c, "/linear/")
	clients := []*appmesh.Client{newClient(a.Addr()), newClient(b.Addr())}
	mustMesh(t, clients[0])
	rec := &recorder{start: time.Now()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for id := range 6 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(id), 42))
			for {
				select {
				case <-stop:
					return
				default:
				}
				in := lInput{op: opKind(rnd.IntN(4)), key: fmt.Sprintf("n%d", rnd.IntN(4))}
				rec.call(t, id, clients[rnd.IntN(len(clients))], in)
			}
		})
	}
	time.Sleep(2 * time.Second)
	leader := c.Leader(t)
	c.Kill(t, leader)
	time.Sleep(3 * time.Second)
	c.Restart(t, leader)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	model := resourceModel()
	res := porcupine.CheckOperationsTimeout(model, rec.ops, time.Minute)
	t.Logf("history of %d operations (%d with unknown outcome) across 2 replicas and an etcd leader kill: %s",
		len(rec.ops), countUnknown(rec.ops), res)
	if res != porcupine.Ok {
		t.Fatalf("history is not linearizable (%s)", res)
	}
	stale, ok := injectStaleRead(rec.ops)
	if !ok {
		t.Fatal("no acknowledged update without a concurrent write of its name; the workload is too small")
	}
	if res := porcupine.CheckOperationsTimeout(model, stale, time.Minute); res != porcupine.Illegal {
		t.Fatalf("an injected stale read was judged %s, want %s", res, porcupine.Illegal)
	}
	t.Log("an injected stale read (a describe just after an acknowledged update returning the version before it) is rejected")
}

func countUnknown(ops []porcupine.Operation) int {
	n := 0
	for _, op := range ops {
		if op.Output.(lOutput).res == resUnknown {
			n++
		}
	}
	return n
}

// injectStaleRead copies ops and adds one stale read: a describe that
// starts just after an update was acknowledged and returns the version
// before it. The update is chosen so that no other write of its name
// overlaps it or the describe, so the old version cannot legitimately be
// current again.
func injectStaleRead(ops []porcupine.Operation) ([]porcupine.Operation, bool) {
	for j, u := range ops {
		ui, uo := u.Input.(lInput), u.Output.(lOutput)
		if ui.op != opUpdate || uo.res != resOK || uo.version < 2 || u.Return == math.MaxInt64 {
			continue
		}
		if writesBetween(ops, j, ui.key, u.Call, u.Return+2) {
			continue
		}
		stale := porcupine.Operation{ClientId: len(ops), Input: lInput{op: opDescribe, key: ui.key},
			Call: u.Return + 1, Output: lOutput{res: resOK, version: uo.version - 1}, Return: u.Return + 2}
		return append(append([]porcupine.Operation(nil), ops...), stale), true
	}
	return nil, false
}

// writesBetween reports whether a write of key other than ops[skip]
// overlaps the interval [from, to].
func writesBetween(ops []porcupine.Operation, skip int, key string, from, to int64) bool {
	for k, w := range ops {
		wi := w.Input.(lInput)
		if k != skip && wi.key == key && wi.op != opDescribe && w.Call <= to && w.Return >= from {
			return true
		}
	}
	return false
}

// TestResourceModel checks the model on small hand-written histories.
func TestResourceModel(t *testing.T) {
	op := func(client int, o opKind, call, ret int64, res resultKind, v int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: lInput{op: o, key: "n"}, Call: call,
			Output: lOutput{res: res, version: v}, Return: ret}
	}
	tests := []struct {
		name string
		h    []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"create update describe", []porcupine.Operation{
			op(0, opCreate, 0, 1, resOK, 1), op(0, opUpdate, 2, 3, resOK, 2), op(1, opDescribe, 4, 5, resOK, 2)}, porcupine.Ok},
		{"stale describe after update", []porcupine.Operation{
			op(0, opCreate, 0, 1, resOK, 1), op(0, opUpdate, 2, 3, resOK, 2), op(1, opDescribe, 4, 5, resOK, 1)}, porcupine.Illegal},
		{"concurrent describe may see either", []porcupine.Operation{
			op(0, opCreate, 0, 1, resOK, 1), op(0, opUpdate, 2, 5, resOK, 2), op(1, opDescribe, 3, 4, resOK, 1)}, porcupine.Ok},
		{"second create conflicts", []porcupine.Operation{
			op(0, opCreate, 0, 1, resOK, 1), op(1, opCreate, 2, 3, resOK, 1)}, porcupine.Illegal},
		{"describe after delete finds nothing", []porcupine.Operation{
			op(0, opCreate, 0, 1, resOK, 1), op(0, opDelete, 2, 3, resOK, 1), op(1, opDescribe, 4, 5, resOK, 1)}, porcupine.Illegal},
		{"unknown create may have happened", []porcupine.Operation{
			op(0, opCreate, 0, math.MaxInt64, resUnknown, 0), op(1, opDescribe, 4, 5, resOK, 1)}, porcupine.Ok},
		{"unknown create may not have happened", []porcupine.Operation{
			op(0, opCreate, 0, math.MaxInt64, resUnknown, 0), op(1, opDescribe, 4, 5, resNotFound, 0)}, porcupine.Ok},
		{"lost acknowledged update", []porcupine.Operation{
			op(0, opCreate, 0, 1, resOK, 1), op(0, opUpdate, 2, 3, resOK, 2), op(1, opUpdate, 4, 5, resOK, 2)}, porcupine.Illegal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := porcupine.CheckOperationsTimeout(resourceModel(), tt.h, 10*time.Second); got != tt.want {
				t.Fatalf("check = %s, want %s", got, tt.want)
			}
		})
	}
}
