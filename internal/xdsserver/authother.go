package xdsserver

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// adsService prefixes the ADS methods' full names.
const adsService = "/envoy.service.discovery.v3.AggregatedDiscoveryService/"

// provenKey is the context key of a stream's proven identity.
type provenKey struct{}

type proven struct {
	id      Identity
	account string
}

// WithProvenIdentity returns ctx carrying the identity an authenticated
// listener proved, and the server's account (for shared-mesh node ids).
// Streams of services other than ADS get it on ServeAuthenticated.
func WithProvenIdentity(ctx context.Context, id Identity, account string) context.Context {
	return context.WithValue(ctx, provenKey{}, proven{id: id, account: account})
}

// CheckProvenClaim checks a node id a non-ADS stream claims (the telemetry
// MetricsService's identifier) against the identity its listener proved:
// nil when the listener authenticates nothing, PermissionDenied when the
// claim names another node.
func CheckProvenClaim(ctx context.Context, claimed string) error {
	p, ok := ctx.Value(provenKey{}).(proven)
	if !ok {
		return nil
	}
	if err := CheckClaim(claimed, p.id.Ref, p.account); err != nil {
		return status.Errorf(codes.PermissionDenied, "%v", err)
	}
	return nil
}

// authOther authenticates a stream of another service than ADS (whose
// messages the ADS checks cannot read) and hands the service its proven
// identity in the stream's context; the service checks its claims with
// CheckProvenClaim.
func (s *Server) authOther(srv any, ss grpc.ServerStream, handler grpc.StreamHandler, opts AuthOptions) error {
	id, err := opts.Authenticate(ss.Context())
	if err != nil {
		s.refuse("unauthenticated", ss.Context(), "", "", err)
		return status.Errorf(codes.Unauthenticated, "xds: %v", err)
	}
	return handler(srv, &provenStream{ServerStream: ss, ctx: WithProvenIdentity(ss.Context(), id, opts.AccountID)})
}

func isADS(method string) bool { return strings.HasPrefix(method, adsService) }

// provenStream is a stream whose context carries the proven identity.
type provenStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (p *provenStream) Context() context.Context { return p.ctx }
