package xdsserver

import (
	"google.golang.org/protobuf/types/known/structpb"
)

// Node connects and disconnects reach reconcile losslessly by
// construction: the server does not queue events, it marks the node key
// whose connection state changed in a set (a key changing again before
// reconcile looks is coalesced) and wakes reconcile through a channel of
// capacity one. Reconcile takes the set and reads each key's current
// state (Node): the connected-node table is the truth, the set only says
// where to look. A burst of any size costs one entry per distinct key and
// one wakeup; duplicate or reordered changes cannot be misapplied because
// none is applied, only the state at the time of reading. A change after
// the read marks the key again.
//
// The set is bounded (Options.MaxPendingNodeChanges) so that clients
// churning through made-up node ids faster than reconcile takes them
// cannot grow it without end: at the bound it is emptied and the next
// take reports resync, and reconcile compares what it knows against
// ConnectedNodes instead, which is what the set would have led it to.

// defaultMaxPendingNodeChanges is the default bound of the change set.
const defaultMaxPendingNodeChanges = 1 << 16

// connectedNode is a node key with at least one identified open stream.
type connectedNode struct {
	id      string           // the node id of the stream that connected it
	md      *structpb.Struct // that stream's node metadata (read-only)
	streams int
}

// nodeChanges is the set of node keys whose state changed since the last
// take; the server's mutex guards it.
type nodeChanges struct {
	max    int
	keys   map[string]struct{}
	resync bool
	wake   chan struct{}
}

func newNodeChanges(max int) nodeChanges {
	if max <= 0 {
		max = defaultMaxPendingNodeChanges
	}
	return nodeChanges{max: max, keys: map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

// nodeChanged marks key changed and wakes the consumer; s.mu is held.
func (s *Server) nodeChanged(key string) {
	c := &s.changes
	switch _, seen := c.keys[key]; {
	case seen || c.resync:
		s.metrics.coalesced.Inc()
	case len(c.keys) >= c.max:
		clear(c.keys)
		c.resync = true
		s.metrics.resyncs.Inc()
		s.log.Warn("xds node changes reached their bound; reconcile will resynchronise from the connected nodes", "bound", c.max)
	default:
		c.keys[key] = struct{}{}
	}
	s.metrics.pending.Set(float64(len(c.keys)))
	s.metrics.nodes.Set(float64(len(s.nodes)))
	select {
	case c.wake <- struct{}{}:
	default: // a wakeup is pending already
	}
}

// NodeChanges receives a value when node keys changed state since the
// last TakeNodeChanges. Wakeups coalesce: after one, take everything.
func (s *Server) NodeChanges() <-chan struct{} { return s.changes.wake }

// TakeNodeChanges returns the node keys whose connection state changed
// since the last call, each once, and empties the set. resync true means
// the set overflowed and was dropped: the caller must compare what it
// knows against ConnectedNodes. Read each key's state with Node.
func (s *Server) TakeNodeChanges() (keys []string, resync bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.changes
	keys = make([]string, 0, len(c.keys))
	for k := range c.keys {
		keys = append(keys, k)
	}
	clear(c.keys)
	resync, c.resync = c.resync, false
	s.metrics.pending.Set(0)
	return keys, resync
}

// Node returns the current state of a node key: connected while some
// identified stream of it is open, with the node id and metadata of the
// stream that connected it.
func (s *Server) Node(key string) NodeState {
	s.mu.Lock()
	n := s.nodes[key]
	s.mu.Unlock()
	if n == nil {
		return NodeState{Key: key}
	}
	var md map[string]any
	if n.md != nil {
		md = n.md.AsMap()
	}
	return NodeState{NodeID: n.id, Key: key, Connected: true, Metadata: md}
}
