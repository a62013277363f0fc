package server_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/server"
)

// envoyCallCreds signs every RPC as Envoy's aws_iam gRPC credentials
// plugin does: the request POST <service url>/<method> with no body,
// x-amz-content-sha256 set to the SHA-256 of the empty string, signed for
// service appmesh with aws-sdk-go-v2's v4 signer; every header but host
// is sent as metadata.
type envoyCallCreds struct{ creds aws.Credentials }

func (c envoyCallCreds) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	ri, ok := credentials.RequestInfoFromContext(ctx)
	if !ok || len(uri) == 0 {
		return nil, fmt.Errorf("no request info")
	}
	method := ri.Method[strings.LastIndex(ri.Method, "/")+1:]
	req, err := http.NewRequest(http.MethodPost, uri[0]+"/"+method, nil)
	if err != nil {
		return nil, err
	}
	empty := sha256.Sum256(nil)
	hash := hex.EncodeToString(empty[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(ctx, c.creds, req, hash, "appmesh", testRegion, time.Now()); err != nil {
		return nil, err
	}
	md := map[string]string{}
	for k := range req.Header {
		md[strings.ToLower(k)] = req.Header.Get(k)
	}
	return md, nil
}

func (envoyCallCreds) RequireTransportSecurity() bool { return true }

// sigv4StreamCode opens an ADS stream over TLS (no client certificate),
// signed with creds when set, claiming node, and returns its firstAnswer.
func sigv4StreamCode(t *testing.T, xds string, roots *x509.CertPool, creds *aws.Credentials, node string) codes.Code {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))}
	if creds != nil {
		opts = append(opts, grpc.WithPerRPCCredentials(envoyCallCreds{*creds}))
	}
	cc, err := grpc.NewClient(xds, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	return firstAnswer(t, cc, node)
}

// TestXDSSigV4: with API auth and --xds-mtls on, a stock App Mesh Envoy's
// stream (TLS, SigV4 call credentials) is served only when the signature
// verifies with an active key and the principal is allowed
// appmesh:StreamAggregatedResources on the ARN of the node it claims.
func TestXDSSigV4(t *testing.T) {
	s, admin := startAuthServer(t, func(c *server.Config) {
		c.XDSAddr = "127.0.0.1:0"
		c.CA = server.CAConfig{XDSMTLS: true}
	})
	const role = "arn:aws:iam::" + testAccount + ":role/web-task"
	webARN := "arn:aws:appmesh:" + testRegion + ":" + testAccount + ":mesh/shop/virtualNode/web"
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:StreamAggregatedResources","Resource":"` + webARN + `"}]}`
	ctx := t.Context()
	if _, err := s.Keys().CreatePrincipal(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := s.Keys().SetPolicy(ctx, role, "envoy", json.RawMessage(policy)); err != nil {
		t.Fatal(err)
	}
	key, err := s.Keys().CreateKey(ctx, role, 0)
	if err != nil {
		t.Fatal(err)
	}
	temp, err := s.Keys().CreateKey(ctx, role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The node exists, so an accepted stream gets a first response.
	mc := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: aws.String("http://" + s.Addr()),
		Credentials: awscreds.Provider{Creds: admin}})
	if _, err := mc.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String("shop"),
		VirtualNodeName: aws.String("web"), Spec: dnsNode("web.local")}); err != nil {
		t.Fatal(err)
	}
	var bundle enrol.BundleResponse
	if got, typ := doCA(t, "http://"+s.Addr(), "GET", enrol.BundlePath, &admin, nil, &bundle); got != 200 {
		t.Fatalf("bundle: %d %s", got, typ)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(bundle.TrustBundle))
	web := &aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	webTemp := &aws.Credentials{AccessKeyID: temp.AccessKeyID, SecretAccessKey: temp.SecretAccessKey, SessionToken: temp.SessionToken}
	forged := &aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: "forged"}
	unknown := &aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: "x"}
	badToken := &aws.Credentials{AccessKeyID: temp.AccessKeyID, SecretAccessKey: temp.SecretAccessKey, SessionToken: "wrong"}
	deadline := time.Now().Add(10 * time.Second) // the policy reaches the auth mirror by a store watch
	for sigv4StreamCode(t, s.XDSAddr(), roots, web, "mesh/shop/virtualNode/web") != codes.OK {
		if time.Now().After(deadline) {
			t.Fatal("web's stream never accepted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, tc := range []struct {
		name  string
		creds *aws.Credentials
		node  string
		want  codes.Code
	}{
		{"full ARN", web, webARN, codes.OK},
		{"session token", webTemp, "mesh/shop/virtualNode/web", codes.OK},
		{"another node", web, "mesh/shop/virtualNode/db", codes.PermissionDenied},
		{"another account", web, "arn:aws:appmesh:" + testRegion + ":999999999999:mesh/shop/virtualNode/web", codes.PermissionDenied},
		{"admin (full access)", &admin, "mesh/shop/virtualNode/web", codes.OK},
		{"forged secret", forged, "mesh/shop/virtualNode/web", codes.Unauthenticated},
		{"unknown key", unknown, "mesh/shop/virtualNode/web", codes.Unauthenticated},
		{"wrong session token", badToken, "mesh/shop/virtualNode/web", codes.Unauthenticated},
		{"no credentials", nil, "mesh/shop/virtualNode/web", codes.Unauthenticated},
	} {
		if got := sigv4StreamCode(t, s.XDSAddr(), roots, tc.creds, tc.node); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
