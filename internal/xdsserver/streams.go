package xdsserver

import (
	"context"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// maxInflight bounds the responses per type a stream remembers while
// waiting for their ACK; Envoy answers each in order, so only the last few
// can still be acknowledged.
const maxInflight = 8

// streamKey names a stream. go-control-plane numbers state-of-the-world and
// delta streams with separate counters per server, and each Serve call has
// its own servers, so the id alone is not unique.
type streamKey struct {
	serve int64
	delta bool
	id    int64
}

// streamState is what the server tracks for one open stream.
type streamState struct {
	key    streamKey
	nodeID string // snapshot key (NodeKey); empty until the first request names the node
	rawID  string // the node id the proxy sent
	peer   string
	since  time.Time
	types  map[string]*typeTrack // by type URL, only types sent on this stream
}

// typeTrack is the ACK/NACK bookkeeping for one type URL on one stream.
type typeTrack struct {
	inflight []sentResponse // oldest first
	status   TypeStatus
}

type sentResponse struct{ nonce, version string }

// callbacks receives go-control-plane's stream callbacks (sotw.Callbacks
// and delta.Callbacks) for one Serve call.
type callbacks struct {
	s     *Server
	serve int64
}

func (c *callbacks) key(delta bool, id int64) streamKey { return streamKey{c.serve, delta, id} }

func (c *callbacks) OnStreamOpen(ctx context.Context, id int64, _ string) error {
	c.s.open(ctx, c.key(false, id))
	return nil
}

func (c *callbacks) OnStreamClosed(id int64, _ *corev3.Node) { c.s.closeStream(c.key(false, id)) }

// OnStreamRequest also parks NACKs. The cache answers at once any
// request whose version_info differs from the snapshot's, and a NACK
// carries the last accepted version, so Envoy would get the rejected
// version straight back, reject it again, and so on without end
// (go-control-plane#46, #962). Claiming the rejected version makes the
// watch wait for the next SetResources instead; a snapshot that already
// moved on is still sent at once.
func (c *callbacks) OnStreamRequest(id int64, req *discoveryv3.DiscoveryRequest) error {
	rejected, err := c.s.request(c.key(false, id), req.GetNode(), req.GetTypeUrl(), req.GetResponseNonce(), req.GetErrorDetail())
	if rejected != "" {
		req.VersionInfo = rejected
	}
	return err
}

func (c *callbacks) OnStreamResponse(_ context.Context, id int64, _ *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
	c.s.response(c.key(false, id), resp.GetTypeUrl(), resp.GetNonce(), resp.GetVersionInfo())
}

func (c *callbacks) OnDeltaStreamOpen(ctx context.Context, id int64, _ string) error {
	c.s.open(ctx, c.key(true, id))
	return nil
}

func (c *callbacks) OnDeltaStreamClosed(id int64, _ *corev3.Node) { c.s.closeStream(c.key(true, id)) }

// OnStreamDeltaRequest runs before go-control-plane copies the stream's node
// into requests that omit it, so only the first request is sure to carry it;
// request remembers it per stream. Delta needs no NACK parking: the cache
// diffs against what it sent, not against what Envoy says it has.
func (c *callbacks) OnStreamDeltaRequest(id int64, req *discoveryv3.DeltaDiscoveryRequest) error {
	_, err := c.s.request(c.key(true, id), req.GetNode(), req.GetTypeUrl(), req.GetResponseNonce(), req.GetErrorDetail())
	return err
}

func (c *callbacks) OnStreamDeltaResponse(id int64, _ *discoveryv3.DeltaDiscoveryRequest, resp *discoveryv3.DeltaDiscoveryResponse) {
	c.s.response(c.key(true, id), resp.GetTypeUrl(), resp.GetNonce(), resp.GetSystemVersionInfo())
}

// open registers a stream; it is anonymous until its first request.
func (s *Server) open(ctx context.Context, key streamKey) {
	st := &streamState{key: key, since: time.Now(), types: make(map[string]*typeTrack)}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		st.peer = p.Addr.String()
	}
	s.mu.Lock()
	s.streams[key] = st
	s.mu.Unlock()
}

// closeStream forgets a stream and announces the node's disconnect when it
// was the node's last one.
func (s *Server) closeStream(key streamKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.streams[key]
	if !ok {
		return
	}
	delete(s.streams, key)
	if st.nodeID == "" {
		return
	}
	s.metrics.connected.Dec()
	s.metrics.disconnects.Inc()
	if st.key.delta {
		if s.deltas[st.nodeID]--; s.deltas[st.nodeID] == 0 {
			delete(s.deltas, st.nodeID)
		}
	}
	if n := s.nodes[st.nodeID]; n != nil {
		if n.streams--; n.streams == 0 {
			delete(s.nodes, st.nodeID)
			s.nodeChanged(st.nodeID)
		}
	}
	s.log.Debug("xds stream closed", "node", st.nodeID, "peer", st.peer)
}

// request identifies the stream on its first request and settles the
// response a request's nonce answers: an ACK without error_detail, a NACK
// with one, whose rejected version it returns. Requests with an unknown or
// stale nonce settle nothing.
func (s *Server) request(key streamKey, node *corev3.Node, typeURL, nonce string, detail *statuspb.Status) (rejected string, err error) {
	s.mu.Lock()
	st, ok := s.streams[key]
	if !ok {
		s.mu.Unlock()
		return "", nil
	}
	if st.nodeID == "" {
		if err := s.identify(st, node); err != nil {
			s.mu.Unlock()
			s.refused(st.peer, reasonInvalidNodeID, err)
			return "", err
		}
	}
	now := time.Now()
	version, settled := st.settle(typeURL, nonce, detail, now)
	nodeID, since := st.nodeID, st.since
	s.mu.Unlock()
	if !settled {
		return "", nil
	}
	s.report(nodeID, typeURL, version, detail)
	if detail != nil {
		return version, nil
	}
	s.observeConvergence(nodeID, typeURL, version, since, now)
	return "", nil
}

// identify names a stream after its node id; callers hold s.mu. An id that
// names no virtual node or gateway ends the stream, so a misconfigured
// Envoy logs why instead of waiting forever for configuration.
func (s *Server) identify(st *streamState, node *corev3.Node) error {
	if _, err := ParseNodeID(node.GetId()); err != nil {
		return status.Errorf(codes.InvalidArgument, "%v", err)
	}
	nodeID := NodeKey(node)
	st.nodeID, st.rawID = nodeID, node.GetId()
	s.metrics.connected.Inc()
	s.metrics.connects.Inc()
	if st.key.delta {
		s.deltas[nodeID]++
	}
	n := s.nodes[nodeID]
	if n == nil {
		n = &connectedNode{id: st.rawID, md: node.GetMetadata()}
		s.nodes[nodeID] = n
		s.nodeChanged(nodeID)
	}
	n.streams++
	s.log.Debug("xds stream identified", "node", nodeID, "peer", st.peer, "delta", st.key.delta)
	return nil
}

// settle matches nonce against the responses in flight for typeURL and
// records the ACK or NACK of that response's version.
func (st *streamState) settle(typeURL, nonce string, detail *statuspb.Status, now time.Time) (string, bool) {
	tr, ok := st.types[typeURL]
	if !ok || nonce == "" {
		return "", false
	}
	for i, r := range tr.inflight {
		if r.nonce != nonce {
			continue
		}
		// Envoy answers responses in order: older ones will never be.
		tr.inflight = tr.inflight[i+1:]
		if detail == nil {
			tr.status.AckedVersion, tr.status.AckedAt = r.version, now
		} else {
			tr.status.LastNACK = &NACK{Version: r.version, Message: detail.GetMessage(), At: now}
		}
		return r.version, true
	}
	return "", false
}

// report logs and counts a settled response.
func (s *Server) report(node, typeURL, version string, detail *statuspb.Status) {
	if detail == nil {
		s.metrics.acks.WithLabelValues(typeLabel(typeURL)).Inc()
		return
	}
	s.metrics.nacks.WithLabelValues(typeLabel(typeURL)).Inc()
	s.log.Warn("xds NACK", "node", node, "type", typeURL, "version", version, "message", detail.GetMessage())
}

// response records a response about to be sent so its ACK can be matched.
func (s *Server) response(key streamKey, typeURL, nonce, version string) {
	s.metrics.pushes.WithLabelValues(typeLabel(typeURL)).Inc()
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.streams[key]
	if !ok {
		return
	}
	tr, ok := st.types[typeURL]
	if !ok {
		tr = &typeTrack{}
		st.types[typeURL] = tr
	}
	if len(tr.inflight) == maxInflight {
		tr.inflight = append(tr.inflight[:0], tr.inflight[1:]...)
	}
	tr.inflight = append(tr.inflight, sentResponse{nonce: nonce, version: version})
	tr.status.SentVersion, tr.status.SentAt = version, time.Now()
}

// observeConvergence records, for an ACK of the version the node's
// snapshot has for the type, the time since that version was set or the
// stream connected, whichever is later: how long the proxy waited for
// the configuration it now runs.
func (s *Server) observeConvergence(key, typeURL, version string, connected, now time.Time) {
	t := cachev3.GetResponseType(typeURL)
	snap := s.cache.snapshot(key)
	if t == types.UnknownType || snap == nil || snap.types[t].version != version {
		return
	}
	from := snap.types[t].since
	if connected.After(from) {
		from = connected
	}
	s.metrics.convergence.Observe(now.Sub(from).Seconds())
}
