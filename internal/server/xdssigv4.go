package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/trellis-mesh/trellis/internal/auth"
	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// xdsAuthenticator proves a stream's identity on the authenticated xDS
// listener: a verified client certificate of the built-in CA (trellis
// sidecar, mTLS), or, with API auth on, SigV4 call credentials as stock App
// Mesh Envoys send them over TLS (envoy.grpc_credentials.aws_iam).
func (s *Server) xdsAuthenticator(trustDomain string) xdsserver.Authenticator {
	certs := xdsserver.SPIFFEAuthenticator(trustDomain)
	return func(ctx context.Context) (xdsserver.Identity, error) {
		if s.authMW == nil || hasClientCert(ctx) {
			return certs(ctx)
		}
		return s.sigv4Identity(ctx)
	}
}

func hasClientCert(ctx context.Context) bool {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return false
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	return ok && len(ti.State.PeerCertificates) > 0
}

// sigv4Identity reads a stream's SigV4 call credentials. Envoy's aws_iam
// plugin signs, for service appmesh, the request POST https://<authority>
// <grpc method path> with no query and an empty body: its headers are
// host (the :authority, without a default port), x-amz-content-sha256
// (the SHA-256 of the empty string), x-amz-date and x-amz-security-token
// with temporary credentials; it sends all but host as gRPC metadata with
// the authorization header. The signature is verified, and the principal
// authorized, when the stream names its node (Identity.Authorize).
func (s *Server) sigv4Identity(ctx context.Context) (xdsserver.Identity, error) {
	r, err := signedRequest(ctx)
	if err != nil {
		return xdsserver.Identity{}, err
	}
	sig, err := sigv4.Parse(r)
	if err != nil {
		return xdsserver.Identity{}, fmt.Errorf("sigv4 call credentials: %w", err)
	}
	return xdsserver.Identity{Proof: "sigv4:" + sig.AccessKeyID, Authorize: func(ctx context.Context, nodeID string) error {
		return s.authorizeStream(r, nodeID)
	}}, nil
}

// signedRequest rebuilds the HTTP request Envoy signed from the stream's
// metadata; without an authorization entry the stream has no credential.
func signedRequest(ctx context.Context) (*http.Request, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get("authorization")) == 0 {
		return nil, errors.New("no client certificate and no SigV4 call credentials")
	}
	method, ok := grpc.Method(ctx)
	if !ok {
		return nil, errors.New("no gRPC method")
	}
	authority := ""
	if a := md.Get(":authority"); len(a) > 0 {
		authority = a[0]
	}
	host := strings.TrimSuffix(strings.TrimSuffix(authority, ":443"), ":80")
	r := &http.Request{Method: http.MethodPost, Host: host, Header: http.Header{},
		URL: &url.URL{Scheme: "https", Host: host, Path: method}}
	for k, vs := range md {
		if !strings.HasPrefix(k, ":") {
			r.Header[http.CanonicalHeaderKey(k)] = vs
		}
	}
	return r.WithContext(ctx), nil
}

// authorizeStream verifies the signature and checks, as the API does, that
// the principal is allowed appmesh:StreamAggregatedResources on the ARN
// of the node the stream claims. Refusals carry App Mesh's stream codes:
// Unauthenticated for a missing or bad credential, PermissionDenied for a
// denied one.
func (s *Server) authorizeStream(r *http.Request, nodeID string) error {
	ref, err := xdsserver.ParseNodeID(nodeID)
	if err != nil {
		return status.Errorf(codes.PermissionDenied, "xds: %v", err)
	}
	arn := fmt.Sprintf("arn:aws:appmesh:%s:%s:%s", s.cfg.Region, s.cfg.AccountID, ref)
	op := auth.Operation{Service: auth.ServiceAppMesh, Name: "StreamAggregatedResources",
		Action: "appmesh:StreamAggregatedResources", Resource: arn, EventSource: "appmesh.amazonaws.com", ReadOnly: true}
	_, err = s.authMW.Check(r, op, nil)
	var e *sigv4.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e) && e.Code == sigv4.CodeAccessDenied:
		return status.Errorf(codes.PermissionDenied, "xds: %s: %s", e.Code, e.Message)
	case errors.As(err, &e) && e.Status >= 500:
		return status.Errorf(codes.Internal, "xds: %s", e.Code)
	case errors.As(err, &e):
		return status.Errorf(codes.Unauthenticated, "xds: %s: %s", e.Code, e.Message)
	}
	return status.Errorf(codes.Unauthenticated, "xds: %v", err)
}
