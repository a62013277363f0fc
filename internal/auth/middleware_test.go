package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/smithy-go"

	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
)

// recorder is an Auditor that keeps events in memory.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Append(_ context.Context, e *Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, *e)
	return nil
}

// stubAPI answers ListMeshes and Cloud Map's ListNamespaces with empty lists.
func stubAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-Amz-Target") != "" {
			w.Write([]byte(`{"Namespaces":[]}`))
			return
		}
		w.Write([]byte(`{"meshes":[]}`))
	})
}

type authEnv struct {
	url   string
	keys  *Keys
	audit *recorder
	admin *Credentials
	deny  string // action the authorizer denies
}

func newAuthEnv(t *testing.T) *authEnv {
	keys, _ := newTestKeys(t)
	env := &authEnv{keys: keys, audit: &recorder{}, deny: "appmesh:DeleteMesh"}
	ctx := context.Background()
	if _, err := keys.CreatePrincipal(ctx, "arn:aws:iam::111122223333:user/ci"); err != nil {
		t.Fatal(err)
	}
	c, err := keys.CreateKey(ctx, "arn:aws:iam::111122223333:user/ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	env.admin = c
	mw := NewMiddleware(Options{
		Keys: keys, Verifier: &sigv4.Verifier{Region: "us-east-1"},
		Classifier: Classifier{Region: "us-east-1", AccountID: "111122223333"},
		Authorize: func(_ []json.RawMessage, req AuthzRequest) (bool, error) {
			return req.Action != env.deny, nil
		},
		Audit: env.audit,
	})
	mux := http.NewServeMux()
	mux.Handle(AdminPathPrefix, NewAdmin(keys, nil, nil))
	mux.Handle("/", stubAPI())
	srv := httptest.NewServer(mw.Wrap(mux))
	t.Cleanup(srv.Close)
	env.url = srv.URL
	return env
}

func (e *authEnv) appmesh(region string, creds aws.CredentialsProvider, hc aws.HTTPClient) *appmesh.Client {
	return appmesh.New(appmesh.Options{Region: region, BaseEndpoint: aws.String(e.url), Credentials: creds,
		HTTPClient: hc, RetryMaxAttempts: 1})
}

// skewedClient re-signs each request as if the client clock were off by skew.
type skewedClient struct {
	creds aws.Credentials
	skew  time.Duration
}

func (s skewedClient) Do(r *http.Request) (*http.Response, error) {
	body := []byte{}
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.Header.Del("Authorization")
	err := v4.NewSigner().SignHTTP(r.Context(), s.creds, r, sigv4.HashPayload(body), "appmesh", "us-east-1", time.Now().Add(s.skew))
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(r)
}

// TestSDKErrors: the official App Mesh and Cloud Map clients succeed with a
// good key and get each failure as a typed smithy.APIError code.
func TestSDKErrors(t *testing.T) {
	env := newAuthEnv(t)
	ctx := context.Background()
	good := credentials.NewStaticCredentialsProvider(env.admin.AccessKeyID, env.admin.SecretAccessKey, "")
	disabled, _ := env.keys.CreateKey(ctx, env.admin.PrincipalARN, 0)
	must(t, env.keys.SetKeyStatus(ctx, disabled.AccessKeyID, StatusInactive))
	temp, _ := env.keys.CreateKey(ctx, env.admin.PrincipalARN, time.Hour)
	expiredCreds := credentials.NewStaticCredentialsProvider(temp.AccessKeyID, temp.SecretAccessKey, temp.SessionToken)
	if _, err := env.appmesh("us-east-1", expiredCreds, nil).ListMeshes(ctx, &appmesh.ListMeshesInput{}); err != nil {
		t.Fatalf("temporary credentials before expiry: %v", err)
	}
	env.keys.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	defer func() { env.keys.now = time.Now }()
	goodStatic := aws.Credentials{AccessKeyID: env.admin.AccessKeyID, SecretAccessKey: env.admin.SecretAccessKey}
	tests := []struct {
		name   string
		region string
		creds  aws.CredentialsProvider
		hc     aws.HTTPClient
		call   string
		want   string
	}{
		{name: "signed", creds: good},
		{name: "cloud map signed", creds: good, call: "servicediscovery"},
		{name: "wrong secret", creds: credentials.NewStaticCredentialsProvider(env.admin.AccessKeyID, "wrong", ""), want: sigv4.CodeInvalidSignature},
		{name: "unknown key", creds: credentials.NewStaticCredentialsProvider("AKIAUNKNOWN000000000", "x", ""), want: sigv4.CodeUnrecognizedClient},
		{name: "cloud map unknown key", creds: credentials.NewStaticCredentialsProvider("AKIAUNKNOWN000000000", "x", ""), call: "servicediscovery", want: sigv4.CodeUnrecognizedClient},
		{name: "disabled key", creds: credentials.NewStaticCredentialsProvider(disabled.AccessKeyID, disabled.SecretAccessKey, ""), want: sigv4.CodeUnrecognizedClient},
		{name: "other region", region: "eu-west-1", creds: good, want: sigv4.CodeInvalidSignature},
		{name: "clock 10 min behind", creds: good, hc: skewedClient{goodStatic, -10 * time.Minute}, want: sigv4.CodeSkewed},
		{name: "expired session", creds: expiredCreds, want: sigv4.CodeExpiredToken},
		{name: "denied by policy", creds: good, call: "DeleteMesh", want: sigv4.CodeAccessDenied},
		{name: "unsigned", creds: aws.AnonymousCredentials{}, want: sigv4.CodeMissingToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			switch tc.call {
			case "servicediscovery":
				c := servicediscovery.New(servicediscovery.Options{Region: "us-east-1", BaseEndpoint: aws.String(env.url), Credentials: tc.creds, RetryMaxAttempts: 1})
				_, err = c.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{})
			case "DeleteMesh":
				_, err = env.appmesh("us-east-1", tc.creds, tc.hc).DeleteMesh(ctx, &appmesh.DeleteMeshInput{MeshName: aws.String("shop")})
			default:
				_, err = env.appmesh(or(tc.region, "us-east-1"), tc.creds, tc.hc).ListMeshes(ctx, &appmesh.ListMeshesInput{})
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.want {
				t.Fatalf("want %s, got %v", tc.want, err)
			}
		})
	}
	var names []string
	for _, e := range env.audit.events {
		names = append(names, e.Op.Name+"/"+e.ErrorCode)
	}
	want := "ListMeshes/,ListMeshes/,ListNamespaces/,DeleteMesh/AccessDeniedException"
	if got := strings.Join(names, ","); got != want {
		t.Fatalf("audit events %s, want %s", got, want)
	}
	if p := env.audit.events[3].Identity.PrincipalARN; p != env.admin.PrincipalARN {
		t.Fatalf("audited principal %q", p)
	}
}

// TestMentionsResourceTag: the condition key is found in any case, and only
// where it is.
func TestMentionsResourceTag(t *testing.T) {
	for _, tc := range []struct {
		docs []string
		want bool
	}{
		{nil, false},
		{[]string{`{"Condition":{"StringEquals":{"aws:ResourceTag/team":"a"}}}`}, true},
		{[]string{`{}`, `{"c":"AWS:RESOURCETAG/x"}`}, true},
		{[]string{`{"c":"aws:RequestTag/team"}`}, false},
		{[]string{`aws:resourcetag`}, false},
		{[]string{`aws:resourcetag/`}, true},
	} {
		var docs []json.RawMessage
		for _, d := range tc.docs {
			docs = append(docs, json.RawMessage(d))
		}
		if got := mentionsResourceTag(docs); got != tc.want {
			t.Errorf("mentionsResourceTag(%q) = %v, want %v", tc.docs, got, tc.want)
		}
	}
}

// TestPeer: the address and its text, as netip gives them (the text of a
// plain IPv4 peer is RemoteAddr's host, not a copy).
func TestPeer(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:5", "[::1]:80", "[::ffff:10.0.0.2]:80", "[fe80::1%eth0]:1", "junk", "1.2.3.4", ":80", "010.0.0.1:5"} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		want, _ := netip.ParseAddr(host)
		want = want.Unmap()
		got, text := peer(&http.Request{RemoteAddr: addr})
		if got != want || text != want.String() {
			t.Errorf("%q: got %v %q, want %v %q", addr, got, text, want, want.String())
		}
	}
}
