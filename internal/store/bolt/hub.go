package bolt

import (
	"strings"
	"sync"

	"github.com/trellis-mesh/trellis/internal/store"
)

// hub is the in-memory broadcaster between commits and watchers. It holds
// the events of the most recent revisions in a ring indexed by revision and
// wakes every waiting watcher when the ring advances.
//
// bbolt runs commit handlers after releasing its writer lock, so two
// commits can publish out of order. The hub therefore parks early arrivals
// in pending and only advances head over a contiguous run of revisions:
// watchers see revisions strictly in order and never a gap.
type hub struct {
	mu      sync.Mutex
	head    int64                   // highest revision published contiguously
	ring    [][]store.Event         // ring[rev%len(ring)] holds revision rev
	count   int                     // revisions in the ring: (head-count, head]
	pending map[int64][]store.Event // published ahead of a missing revision
	wake    chan struct{}           // closed (and replaced) whenever head moves
}

func newHub(head int64, size int) *hub {
	return &hub{
		head:    head,
		ring:    make([][]store.Event, size),
		pending: make(map[int64][]store.Event),
		wake:    make(chan struct{}),
	}
}

// publish records the events of a committed revision. It never blocks on
// watchers: it only stores a slice and closes a channel.
func (h *hub) publish(rev int64, evs []store.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rev <= h.head {
		return
	}
	h.pending[rev] = evs
	moved := false
	for {
		next, ok := h.pending[h.head+1]
		if !ok {
			break
		}
		delete(h.pending, h.head+1)
		h.head++
		h.ring[h.head%int64(len(h.ring))] = next
		h.count = min(h.count+1, len(h.ring))
		moved = true
	}
	if moved {
		close(h.wake)
		h.wake = make(chan struct{})
	}
}

// chunk is the result of one read for a watcher: the matching events of
// revisions (cursor, upto].
type chunk struct {
	events []store.Event
	upto   int64
}

// read returns the events under prefix after cursor, up to roughly
// maxEvents (whole revisions only). tooOld reports that the ring no longer
// holds revision cursor+1 and the watcher must read the log instead. When
// nothing is newer than cursor, chunk.upto == cursor and wake is the channel
// to wait on; it is taken under the same lock, so no publish is missed.
func (h *hub) read(cursor int64, prefix string, maxEvents int) (c chunk, wake <-chan struct{}, tooOld bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.upto = cursor
	if cursor >= h.head {
		return c, h.wake, false
	}
	if cursor < h.head-int64(h.count) {
		return c, nil, true
	}
	for c.upto < h.head && len(c.events) < maxEvents {
		c.upto++
		c.events = appendMatching(c.events, h.ring[c.upto%int64(len(h.ring))], prefix)
	}
	return c, nil, false
}

// appendMatching appends the events of evs whose key starts with prefix.
func appendMatching(dst, evs []store.Event, prefix string) []store.Event {
	for _, ev := range evs {
		if strings.HasPrefix(ev.KV.Key, prefix) {
			dst = append(dst, ev)
		}
	}
	return dst
}
