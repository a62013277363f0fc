package xdsserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// Identity is what a stream proved about itself at the transport.
type Identity struct {
	Ref NodeRef
	// Proof names the credential for logs (the SPIFFE id, or the access
	// key id of a SigV4 signature).
	Proof string
	// Authorize, when set, replaces the comparison with Ref: the
	// credential proves a principal, not a node (SigV4 call credentials),
	// and a claimed node id is accepted when Authorize returns nil for it
	// (and it names the server's account). A gRPC status error keeps its
	// code; other errors refuse with PermissionDenied. It is called once
	// per stream: a stream may not change its node id afterwards.
	Authorize func(ctx context.Context, nodeID string) error
}

// Authenticator returns the identity the stream's transport proves, or
// an error when it proves none.
type Authenticator func(ctx context.Context) (Identity, error)

// SPIFFEAuthenticator reads the peer's verified client certificate (mTLS)
// and returns the proxy identity of its SPIFFE id in trustDomain.
func SPIFFEAuthenticator(trustDomain string) Authenticator {
	return func(ctx context.Context) (Identity, error) {
		p, ok := peer.FromContext(ctx)
		if !ok {
			return Identity{}, errors.New("no peer")
		}
		ti, ok := p.AuthInfo.(credentials.TLSInfo)
		if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
			return Identity{}, errors.New("no verified client certificate")
		}
		leaf := ti.State.VerifiedChains[0][0]
		if len(leaf.URIs) != 1 {
			return Identity{}, fmt.Errorf("client certificate has %d URI SANs, want one SPIFFE id", len(leaf.URIs))
		}
		id, err := enrol.ParseID(leaf.URIs[0].String())
		if err != nil {
			return Identity{}, err
		}
		if id.TrustDomain != trustDomain {
			return Identity{}, fmt.Errorf("spiffe id %s is not in trust domain %s", id, trustDomain)
		}
		return Identity{Ref: NodeRef{Mesh: id.Mesh, Kind: id.Kind, Name: id.Name}, Proof: id.String()}, nil
	}
}

// AuthOptions configures ServeAuthenticated.
type AuthOptions struct {
	// Authenticate proves the stream's identity (required).
	Authenticate Authenticator
	// AccountID, when set, is the only account a node id may name (the
	// ARN form's account, the <mesh>@<owner> form's owner).
	AccountID string
	// FirstRequestTimeout bounds how long a stream may stay open without
	// naming its node (default 10 s; Limits.FirstRequestTimeout when that
	// is shorter). A late stream is counted as
	// trellis_xds_streams_refused_total{reason="no_request"}.
	FirstRequestTimeout time.Duration
	// HandshakeTimeout bounds the TLS handshake (default 10 s).
	HandshakeTimeout time.Duration
}

func (o *AuthOptions) defaults() {
	if o.FirstRequestTimeout == 0 {
		o.FirstRequestTimeout = 10 * time.Second
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
}

// CheckClaim returns nil when the node id a stream claims names the
// proven identity (and, with account set, only that account).
func CheckClaim(claimed string, proven NodeRef, account string) error {
	ref, err := ParseNodeID(claimed)
	if err != nil {
		return err
	}
	if ref != proven {
		return fmt.Errorf("node id names %s, the credential proves %s", ref, proven)
	}
	return checkAccount(claimed, account)
}

// checkAccount returns nil when account is empty or a valid node id names
// only that account (the ARN's account, the shared mesh's owner).
func checkAccount(claimed, account string) error {
	if account == "" {
		return nil
	}
	path := claimed
	if strings.HasPrefix(claimed, "arn:") {
		parts := strings.SplitN(claimed, ":", 6)
		if parts[4] != account {
			return fmt.Errorf("node id names account %q, this server serves %q", parts[4], account)
		}
		path = parts[5]
	}
	if seg := strings.SplitN(path, "/", 3); strings.Contains(seg[1], "@") {
		if _, owner, _ := strings.Cut(seg[1], "@"); owner != account {
			return fmt.Errorf("node id names mesh owner %q, this server serves %q", owner, account)
		}
	}
	return nil
}

// authInterceptor authenticates every stream and refuses, with
// PermissionDenied, one whose requests claim a node id other than the
// proven identity. The first request (which limitStreams read, within
// FirstRequestTimeout) is checked before go-control-plane sees anything;
// later requests that carry a node are checked as they arrive.
func (s *Server) authInterceptor(opts AuthOptions) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if !isADS(info.FullMethod) { // the telemetry MetricsService (authother.go)
			return s.authOther(srv, ss, handler, opts)
		}
		proven, err := opts.Authenticate(ss.Context())
		if err != nil {
			s.refuse("unauthenticated", ss.Context(), "", "", err)
			return status.Errorf(codes.Unauthenticated, "xds: %v", err)
		}
		first, err := takeFirst(ss)
		if err != nil {
			return err
		}
		cs := &checkedStream{ServerStream: ss, proven: proven, account: opts.AccountID, first: first}
		if err := cs.check(first); err != nil {
			s.refuse(refusal(err), ss.Context(), cs.claimed, proven.Proof, err)
			return err
		}
		herr := handler(srv, cs)
		if cs.err != nil { // the handler has returned: no more RecvMsg calls
			s.refuse("permission_denied", ss.Context(), cs.claimed, proven.Proof, cs.err)
			return cs.err
		}
		return herr
	}
}

// refusal is the metric reason of a refused claim.
func refusal(err error) string {
	if status.Code(err) == codes.Unauthenticated {
		return "unauthenticated"
	}
	return "permission_denied"
}

// refuse counts and logs a refused stream.
func (s *Server) refuse(reason string, ctx context.Context, claimed, proven string, err error) {
	s.metrics.authRefused.WithLabelValues(reason).Inc()
	addr := ""
	if p, ok := peer.FromContext(ctx); ok {
		addr = p.Addr.String()
	}
	s.log.Warn("xds stream refused", "reason", reason, "claimed", claimed, "proven", proven, "peer", addr, "err", err)
}

// checkedStream hands go-control-plane the first request (already read
// and checked) and then checks the node of every later request. A
// refusal is returned from RecvMsg, which ends go-control-plane's stream
// loop; the interceptor then returns it as the stream's status. RecvMsg is
// called from one goroutine at a time, as gRPC requires.
type checkedStream struct {
	grpc.ServerStream
	proven  Identity
	account string
	first   proto.Message
	claimed string
	err     error
	// authorized: proven.Authorize accepted claimed.
	authorized bool
}

func (c *checkedStream) RecvMsg(m any) error {
	if c.first != nil {
		proto.Merge(m.(proto.Message), c.first)
		c.first = nil
		return nil
	}
	if c.err != nil {
		return c.err
	}
	if err := c.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if nm, ok := m.(interface{ GetNode() *corev3.Node }); ok && nm.GetNode() != nil {
		c.err = c.check(m)
	}
	return c.err
}

// check refuses a request naming no node or another identity.
func (c *checkedStream) check(m any) error {
	nm, ok := m.(interface{ GetNode() *corev3.Node })
	if !ok || nm.GetNode() == nil {
		return status.Error(codes.PermissionDenied, "xds: the first request names no node")
	}
	claimed := nm.GetNode().GetId()
	if c.proven.Authorize != nil {
		return c.authorize(claimed)
	}
	c.claimed = claimed
	if err := CheckClaim(c.claimed, c.proven.Ref, c.account); err != nil {
		return status.Errorf(codes.PermissionDenied, "xds: %v", err)
	}
	return nil
}

// authorize checks a principal's claim: once, for the first node id; a
// later request may repeat it but not name another.
func (c *checkedStream) authorize(claimed string) error {
	if c.authorized {
		if claimed != c.claimed {
			return status.Errorf(codes.PermissionDenied, "xds: node id changed from %q to %q on one stream", c.claimed, claimed)
		}
		return nil
	}
	c.claimed = claimed
	if _, err := ParseNodeID(claimed); err != nil {
		return status.Errorf(codes.PermissionDenied, "xds: %v", err)
	}
	if err := checkAccount(claimed, c.account); err != nil {
		return status.Errorf(codes.PermissionDenied, "xds: %v", err)
	}
	if err := c.proven.Authorize(c.Context(), claimed); err != nil {
		if _, ok := status.FromError(err); ok {
			return err
		}
		return status.Errorf(codes.PermissionDenied, "xds: %v", err)
	}
	c.authorized = true
	return nil
}
