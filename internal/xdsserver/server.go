package xdsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	deltav3 "github.com/envoyproxy/go-control-plane/pkg/server/delta/v3"
	sotwv3 "github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
)

// ErrInconsistent is wrapped by SetResources when a resource set references
// route configurations or endpoint assignments it does not contain (or
// contains ones nothing references).
var ErrInconsistent = errors.New("inconsistent resource set")

// shutdownGrace bounds GracefulStop; streams end on their own when Serve's
// context ends, so this only waits for handlers to unwind.
const shutdownGrace = 5 * time.Second

// Flow-control windows of the ADS connections (see serve).
const (
	streamWindow = 1 << 20
	connWindow   = 1 << 20
)

// Options configures a Server.
type Options struct {
	// Logger receives NACKs (Warn), stream lifecycle (Debug) and
	// go-control-plane's own messages. Default slog.Default().
	Logger *slog.Logger
	// Registerer, when set, gets the server's Prometheus metrics.
	Registerer prometheus.Registerer
	// Services, when set, registers further gRPC services (the telemetry
	// MetricsService) on every gRPC server Serve creates; ctx is Serve's,
	// which ends before the server stops gracefully.
	Services func(ctx context.Context, gs grpc.ServiceRegistrar)
	// ServerOptions are added to every gRPC server Serve creates (the
	// telemetry codec).
	ServerOptions []grpc.ServerOption
	// MaxPendingNodeChanges bounds the node keys whose change waits for
	// TakeNodeChanges (default 65536); past it the set is dropped and the
	// next take asks for a full resynchronisation instead (nodes.go).
	MaxPendingNodeChanges int
	// Limits bound the streams of all the server's listeners (limits.go);
	// zero fields take the defaults.
	Limits Limits
}

// NodeState is a node key's connection state: whether some identified
// stream of it is open, and the node id and metadata of the stream that
// connected it.
type NodeState struct {
	// NodeID is the Envoy node id the proxy sent.
	NodeID string
	// Key names the node's snapshot: SetResources and ClearNode take it.
	// It is the node id, plus a digest of the proxy's shape metadata when
	// the proxy sends some (see NodeKey).
	Key       string
	Connected bool
	// Metadata is the Envoy node.metadata of the stream that connected the
	// node, as a JSON-like map (nil if none sent or not connected).
	Metadata map[string]any
}

// Server is an ADS server over one snapshot cache (cache.go). All its
// methods are safe for concurrent use.
type Server struct {
	log     *slog.Logger
	extra   func(context.Context, grpc.ServiceRegistrar)
	grpcOpt []grpc.ServerOption
	cache   *adsCache
	metrics *metrics
	serves  atomic.Int64 // numbers Serve calls, which number streams independently
	limits  Limits
	// openStreams counts the streams admitted within limits.MaxStreams
	// over every Serve call (limits.go).
	openStreams atomic.Int64
	// openConns counts the connections accepted within limits.MaxConns
	// over every listener (authserve.go's capListener).
	openConns atomic.Int64

	mu      sync.Mutex
	streams map[streamKey]*streamState
	nodes   map[string]*connectedNode // by node key, while a stream of it is open
	deltas  map[string]int            // delta streams per node key
	// changes are the node keys whose connection state changed since
	// reconcile last took them (nodes.go).
	changes nodeChanges
	// refusals rate-limits the log of refused streams (refused.go).
	refusals refusalLog
	// prepared holds what is learnt once from each resource object the
	// snapshots hold (prepared.go).
	prepared *preparedCache
}

// New returns a Server with an empty cache. Nothing is served until Serve.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	keys := newKeyHash()
	opts.Limits.defaults()
	s := &Server{
		limits: opts.Limits,
		log:    log,
		extra:  opts.Services,
		// A copy: the caller keeps its slice.
		grpcOpt:  append([]grpc.ServerOption(nil), opts.ServerOptions...),
		metrics:  newMetrics(opts.Registerer, log),
		streams:  make(map[streamKey]*streamState),
		nodes:    make(map[string]*connectedNode),
		changes:  newNodeChanges(opts.MaxPendingNodeChanges),
		deltas:   make(map[string]int),
		prepared: newPreparedCache(),
	}
	// A state-of-the-world RDS/EDS request is only answered once the
	// snapshot has every name it asks for, as ADS consistency needs. The
	// same cache answers delta streams (CreateDeltaWatch).
	s.cache = newADSCache(keys, s.prepared, s.metrics.mbb)
	s.ObserveCache("node_keys", keys.keys.Len)
	s.ObserveCache("prepared_resources", s.prepared.size)
	return s
}

// Serve serves ADS (state-of-the-world and delta, all v3 resource types) on
// ln until ctx ends, then stops gracefully within a bound. Open streams end
// with status OK when ctx ends, which Envoy treats as a reconnect hint. It
// may be called for several listeners (TCP, a Unix socket) at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, s.limits.FirstRequestTimeout)
}

// ServeTLS is Serve with gRPC over TLS on ln (a plain TCP listener): creds
// is typically credentials.NewTLS with the server certificate. The App
// Mesh Envoy image's default bootstrap connects this way (google_grpc
// ssl_credentials).
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener, creds credentials.TransportCredentials) error {
	if creds == nil {
		return errors.New("xds serve tls: nil credentials")
	}
	return s.serve(ctx, ln, s.limits.FirstRequestTimeout, grpc.Creds(creds))
}

// serve serves ln until ctx ends; an ADS stream must send its first
// request within firstTimeout (limits.go).
func (s *Server) serve(ctx context.Context, ln net.Listener, firstTimeout time.Duration, extra ...grpc.ServerOption) error {
	ln = newCapListener(ln, s.limits.MaxConns, &s.openConns, s.metrics)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Make-before-break stages past their timeout move on (mbb.go).
	swept := make(chan struct{})
	go func() { defer close(swept); s.cache.sweep(ctx) }()
	defer func() { cancel(); <-swept }()
	cb := &callbacks{s: s, serve: s.serves.Add(1)}
	// Ordered ADS sends responses in the cache's type order (CDS, EDS, LDS,
	// RDS), the make-before-break order the xDS protocol asks for.
	ads := &adsServer{
		sotw:  sotwv3.NewServer(ctx, s.cache, cb, sotwv3.WithOrderedADS(), sotwv3.WithLogger(cacheLogger(s.log))),
		delta: deltav3.NewServer(ctx, s.cache, cb, deltav3.WithLogger(cacheLogger(s.log))),
	}
	// firstReads are the goroutines reading streams' first requests;
	// each ends when its stream does, so they are waited for after stop.
	var firstReads sync.WaitGroup
	defer firstReads.Wait()
	opts := append([]grpc.ServerOption{
		// The App Mesh bootstrap pings every 10 s; grpc-go's default policy
		// (one ping per 5 min) would answer that with GOAWAY too_many_pings.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		// A dead peer is found within Time+Timeout; a connection with no
		// stream for IdleConnTimeout gets GOAWAY (limits.go).
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second,
			MaxConnectionIdle: s.limits.IdleConnTimeout}),
		// limitStreams first, so a refused stream costs nothing more.
		grpc.ChainStreamInterceptor(s.limitStreams(ctx, firstTimeout, &firstReads), s.logCallCredentials),
		// Fixed flow-control windows, as Istio's xDS server sets them: the
		// requests a proxy sends are small, and with a static window
		// grpc-go does not run its bandwidth estimator, which answers every
		// received message with a BDP ping: a thousand proxies ACKing a
		// push would cost a thousand extra writes and reads each way.
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
	}, extra...)
	opts = append(opts, s.limitOptions()...)
	opts = append(opts, s.grpcOpt...)
	gs := grpc.NewServer(opts...)
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(gs, ads)
	if s.extra != nil {
		s.extra(ctx, gs)
	}
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(ln) }()
	select {
	case err := <-errc:
		// Accept failed; connections already accepted would live on.
		gs.Stop()
		return fmt.Errorf("xds serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	stopBounded(gs, shutdownGrace)
	<-errc
	return nil
}

// logCallCredentials notes (Debug) whether a stream carries SigV4 call
// credentials, as the stock App Mesh Envoy sends over TLS (aws_iam:
// authorization, x-amz-date, x-amz-security-token). They are accepted and
// not verified: gRPC ignores metadata nothing reads.
func (s *Server) logCallCredentials(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if s.log.Enabled(ss.Context(), slog.LevelDebug) {
		md, _ := metadata.FromIncomingContext(ss.Context())
		s.log.Debug("xds stream call credentials", "method", info.FullMethod,
			"authorization", len(md.Get("authorization")) > 0, "x-amz-date", len(md.Get("x-amz-date")) > 0)
	}
	return handler(srv, ss)
}

// stopBounded is GracefulStop that gives up after grace.
func stopBounded(gs *grpc.Server, grace time.Duration) {
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		gs.Stop()
		<-done
	}
}

// adsServer routes both ADS methods to go-control-plane's stream servers.
// It stands in for go-control-plane's pkg/server/v3, which would also pull
// in the rate-limit service module this project does not use.
type adsServer struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer
	sotw  sotwv3.Server
	delta deltav3.Server
}

func (a *adsServer) StreamAggregatedResources(st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	return a.sotw.StreamHandler(st, resourcev3.AnyType)
}

func (a *adsServer) DeltaAggregatedResources(st discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	return a.delta.DeltaStreamHandler(st, resourcev3.AnyType)
}

// SetResources publishes a complete, consistent resource set (type URL →
// resources) for one node id under version, which must differ from the
// node's earlier versions whenever the set does. Each type is versioned on
// its own (versions.go): it keeps its previous version while its content
// is unchanged and takes version when it changes. Streams of that node get
// the set at once: state-of-the-world streams every type whose content
// changed, delta streams only the resources whose content changed. An
// inconsistent set (ErrInconsistent), an unknown type URL or a resource
// that does not marshal is refused and the node keeps its previous
// snapshot.
func (s *Server) SetResources(nodeID, version string, resources map[string][]types.Resource) error {
	p, err := newPendingSnapshot(s.prepared, s.cache.snapshot(nodeID), resources)
	if err != nil {
		return fmt.Errorf("xds snapshot for %q version %q: %w", nodeID, version, err)
	}
	// Versioning against the previous snapshot, publishing it and moving
	// the holds on prepared resources happen under s.mu, so concurrent calls
	// for one node leave the cache and the holds in agreement. The cache
	// answers waiting watches while holding its lock; their channels are
	// buffered, so this does not wait for any stream.
	s.mu.Lock()
	defer s.mu.Unlock()
	next := p.version(s.cache.snapshot(nodeID), version, time.Now())
	s.cache.set(nodeID, next) // publishes it, or its first make-before-break stage
	return nil
}

// ClearNode drops the snapshot of a node whose proxies are gone, freeing
// its memory; the node's next stream waits for SetResources. While a
// stream of the node id is open (another replica, or a proxy that
// reconnected before its disconnect event was handled) the snapshot is
// kept: the cache forgets a node's pending requests together with its
// snapshot, so that stream would never receive another update.
func (s *Server) ClearNode(nodeID string) {
	// s.mu is held across clearing the cache so that no stream can be identified
	// (and then open cache watches) between the check and the clearing.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes[nodeID] != nil {
		s.log.Debug("xds snapshot kept: node still connected", "node", nodeID)
		return
	}
	s.cache.clear(nodeID)
}

// ConnectedNodes returns the node ids that have at least one identified
// stream open, sorted. Several Envoys (replicas of one virtual node) may
// share an id; it is listed once.
func (s *Server) ConnectedNodes() []string {
	s.mu.Lock()
	ids := make([]string, 0, len(s.nodes))
	for id := range s.nodes {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)
	return ids
}
