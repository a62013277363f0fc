package bolt

import (
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
)

func ev(key string, rev int64) []store.Event {
	return []store.Event{{Type: store.EventPut, KV: store.KV{Key: key, ModRevision: rev}}}
}

// TestHubOrdersOutOfOrderCommits: bbolt runs commit handlers after
// releasing its writer lock, so revision 3 may be published before 2. The
// hub must hold 3 back until 2 arrives.
func TestHubOrdersOutOfOrderCommits(t *testing.T) {
	h := newHub(1, 8)
	_, wake, _ := h.read(1, "", 100)
	h.publish(3, ev("c", 3))
	if c, _, _ := h.read(1, "", 100); c.upto != 1 {
		t.Fatalf("revision 3 visible before 2: upto %d", c.upto)
	}
	select {
	case <-wake:
		t.Fatal("woken although no revision became visible")
	default:
	}
	h.publish(2, ev("b", 2))
	<-wake // must be closed now
	c, _, _ := h.read(1, "", 100)
	if c.upto != 3 || len(c.events) != 2 || c.events[0].KV.Key != "b" || c.events[1].KV.Key != "c" {
		t.Fatalf("read after gap filled: %+v", c)
	}
	h.publish(2, ev("dup", 2)) // a stale publish is ignored
	if c, _, _ := h.read(1, "", 100); len(c.events) != 2 {
		t.Fatalf("stale publish changed history: %+v", c)
	}
}

func TestHubRingOverflow(t *testing.T) {
	h := newHub(0, 4)
	for rev := int64(1); rev <= 10; rev++ {
		h.publish(rev, ev("k", rev))
	}
	if _, _, tooOld := h.read(5, "", 100); !tooOld {
		t.Fatal("revision 6 should have left a ring of 4 ending at 10")
	}
	c, _, tooOld := h.read(6, "", 2)
	if tooOld || c.upto != 8 || len(c.events) != 2 {
		t.Fatalf("read(6, max 2) = %+v, tooOld %v; want revisions 7-8", c, tooOld)
	}
	if c, _, _ := h.read(6, "x", 100); c.upto != 10 || len(c.events) != 0 {
		t.Fatalf("filtered read should advance to 10 with no events: %+v", c)
	}
}
