package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
)

// maxBody bounds the body read for hashing; the APIs reject larger ones.
const maxBody = 1 << 20

// Identity is an authenticated caller.
type Identity struct {
	PrincipalARN string
	AccessKeyID  string
	// Temporary is true for session-token (ASIA...) credentials.
	Temporary bool
}

type identityKey struct{}

// IdentityFrom returns the caller the middleware authenticated.
func IdentityFrom(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	return id, ok
}

// AuthzRequest is what an Authorizer decides on (auth/policy's Request
// carries the same fields).
type AuthzRequest struct {
	Action, Resource, Principal string
	SourceIP                    netip.Addr
	// RequestTags and TagKeys are the tags a Create or TagResource call
	// carries (aws:RequestTag/<key>, aws:TagKeys).
	RequestTags map[string]string
	TagKeys     []string
	// ResourceTags are the tags of the resource acted on (aws:ResourceTag).
	ResourceTags map[string]string
}

// Authorizer decides whether the principal's attached policy documents
// allow the request. Until auth/policy is wired, the server passes nil,
// which allows every authenticated caller.
type Authorizer func(policies []json.RawMessage, req AuthzRequest) (bool, error)

// Event is one authenticated API call, for the audit log.
type Event struct {
	Time                               time.Time
	Op                                 Operation
	Identity                           Identity
	Region, SourceIP, UserAgent        string
	RequestID, ErrorCode, ErrorMessage string
	Status                             int
	// RequestParameters is the JSON request body (the auditor redacts it).
	RequestParameters any
}

// Auditor records events durably; Append returns once the record is on disk.
type Auditor interface {
	Append(ctx context.Context, e *Event) error
}

// Options configure the middleware.
type Options struct {
	Keys       KeySource // *Keys or *Mirror
	Verifier   *sigv4.Verifier
	Classifier Classifier
	Authorize  Authorizer // nil: any authenticated caller is allowed
	Audit      Auditor    // nil: no audit log
	// ResourceTags returns the tags of the resource an ARN names (nil when
	// none or unknown), for aws:ResourceTag conditions; it is called only
	// when one of the principal's policies mentions aws:ResourceTag.
	ResourceTags func(ctx context.Context, arn string) map[string]string
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

// Middleware authenticates (SigV4), authorizes and audits every request but
// GET /healthz before the wrapped handler runs.
type Middleware struct {
	opts    Options
	log     *slog.Logger
	results *prometheus.CounterVec
}

// NewMiddleware returns the middleware; its metric
// trellis_auth_requests_total{result} is registered on opts.Registerer.
func NewMiddleware(opts Options) *Middleware {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Middleware{opts: opts, log: opts.Logger, results: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trellis_auth_requests_total",
		Help: "API requests by authentication outcome: ok, or the AWS error code sent.",
	}, []string{"result"})}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(m.results); err != nil {
			m.log.Error("register auth metric", "err", err)
		}
	}
	return m
}

// Wrap puts the middleware in front of next.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := readBody(r)
		if err != nil {
			m.reject(w, &sigv4.Error{Code: "SerializationException", Status: http.StatusBadRequest, Message: "request body unreadable"})
			return
		}
		op := m.opts.Classifier.Classify(r, body)
		id, aerr := m.authenticate(r, op, body)
		if aerr == nil {
			aerr = m.authorize(r, op, id, body)
		}
		ev := &Event{Time: time.Now().UTC(), Op: op, Region: m.opts.Classifier.Region,
			SourceIP: sourceIPString(r), UserAgent: r.UserAgent()}
		if m.opts.Audit != nil {
			ev.RequestParameters = jsonObject(body)
		}
		if id != nil {
			ev.Identity = *id
		}
		if aerr != nil {
			m.results.WithLabelValues(aerr.Code).Inc()
			m.log.Debug("request rejected", "code", aerr.Code, "action", op.Action, "akid", ev.Identity.AccessKeyID, "source", ev.SourceIP)
			if id != nil && m.opts.Audit != nil { // denied after authentication: audited
				ev.ErrorCode, ev.ErrorMessage, ev.Status = aerr.Code, aerr.Message, aerr.Status
				if err := m.opts.Audit.Append(r.Context(), ev); err != nil {
					m.log.Error("audit append failed", "err", err)
				}
			}
			m.reject(w, aerr)
			return
		}
		m.results.WithLabelValues("ok").Inc()
		r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
		if m.opts.Audit == nil {
			next.ServeHTTP(w, r)
			return
		}
		aw := &auditWriter{ResponseWriter: w, ctx: r.Context(), ev: ev, audit: m.opts.Audit, log: m.log}
		next.ServeHTTP(aw, r)
		aw.flushHeader()
	})
}

// authenticate parses and verifies the signature and resolves the key.
func (m *Middleware) authenticate(r *http.Request, op Operation, body []byte) (*Identity, *sigv4.Error) {
	sig, err := sigv4.Parse(r)
	if err != nil {
		return nil, asAuthError(err)
	}
	services := []string{op.Service}
	if op.Service == ServiceTrellis && !strings.HasPrefix(r.URL.Path, AdminPathPrefix) { // /debug, /metrics, backup
		services = append(services, ServiceAppMesh)
	}
	if err := m.opts.Verifier.CheckScope(sig, services...); err != nil {
		return nil, asAuthError(err)
	}
	signingKey, key, err := m.opts.Keys.SigningKey(r.Context(), sig.AccessKeyID, sig.SecurityToken, sig.Date, sig.Region, sig.Service)
	switch {
	case errors.Is(err, errExpired):
		return nil, sigv4.Expired()
	case errors.Is(err, ErrNotFound):
		return nil, sigv4.Unrecognized()
	case err != nil:
		m.log.Error("access key lookup failed", "akid", sig.AccessKeyID, "err", err)
		return nil, &sigv4.Error{Code: "InternalFailure", Status: http.StatusInternalServerError, Message: "internal error"}
	}
	if err := m.opts.Verifier.VerifyWithKey(r, sig, signingKey, sigv4.HashPayload(body)); err != nil {
		return nil, asAuthError(err)
	}
	return &Identity{PrincipalARN: key.PrincipalARN, AccessKeyID: key.AccessKeyID, Temporary: key.Expiration != nil}, nil
}

// authorize evaluates the principal's policies when an Authorizer is set.
func (m *Middleware) authorize(r *http.Request, op Operation, id *Identity, body []byte) *sigv4.Error {
	if m.opts.Authorize == nil {
		return nil
	}
	p, _, err := m.opts.Keys.Principal(r.Context(), id.PrincipalARN)
	if err != nil {
		return sigv4.AccessDenied(id.PrincipalARN, op.Action, op.Resource)
	}
	docs := make([]json.RawMessage, 0, len(p.Policies))
	for _, d := range p.Policies {
		docs = append(docs, d)
	}
	req := AuthzRequest{Action: op.Action, Resource: op.Resource, Principal: id.PrincipalARN, SourceIP: sourceIP(r)}
	req.RequestTags, req.TagKeys = requestTags(body)
	if m.opts.ResourceTags != nil && op.Resource != "*" && mentionsResourceTag(docs) {
		req.ResourceTags = m.opts.ResourceTags(r.Context(), op.Resource)
	}
	ok, err := m.opts.Authorize(docs, req)
	if err != nil {
		m.log.Warn("policy evaluation failed", "principal", id.PrincipalARN, "err", err)
	}
	if !ok || err != nil {
		return sigv4.AccessDenied(id.PrincipalARN, op.Action, op.Resource)
	}
	return nil
}

func asAuthError(err error) *sigv4.Error {
	var e *sigv4.Error
	if errors.As(err, &e) {
		return e
	}
	return &sigv4.Error{Code: sigv4.CodeIncomplete, Status: http.StatusBadRequest, Message: err.Error()}
}

// reject sends an AWS error both JSON protocols read: X-Amzn-ErrorType for
// restJson (App Mesh, admin) and __type for awsJson1_1 (Cloud Map).
func (m *Middleware) reject(w http.ResponseWriter, e *sigv4.Error) {
	WriteError(w, e.Status, e.Code, e.Message)
}

// WriteError writes an AWS JSON error response.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	if w.Header().Get("X-Amzn-RequestId") == "" {
		w.Header().Set("X-Amzn-RequestId", newRequestID())
	}
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": code, "message": message})
	w.Write(b)
}

func sourceIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// sourceIPString is sourceIP(r).String(), without a copy when the peer is
// a plain IPv4 address (its text in RemoteAddr is already canonical).
func sourceIPString(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err == nil {
		if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
			return host
		}
	}
	return sourceIP(r).String()
}

func newRequestID() string {
	s := randomSecret(16)
	return s[:22]
}

// jsonObject decodes a JSON object body for the audit record; nil otherwise.
func jsonObject(body []byte) any {
	if len(body) == 0 {
		return nil // before m: a declared m escapes (allocates) even when unused
	}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	return m
}

// requestTags reads the tags of a request body: App Mesh's
// "tags": [{"key","value"}] or Cloud Map's "Tags": [{"Key","Value"}].
func requestTags(body []byte) (map[string]string, []string) {
	if len(body) == 0 {
		return nil, nil // before b: a declared b escapes (allocates) even when unused
	}
	var b struct {
		Tags  []struct{ Key, Value string } `json:"tags"`
		Tags2 []struct{ Key, Value string } `json:"Tags"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil, nil
	}
	all := append(b.Tags, b.Tags2...)
	if len(all) == 0 {
		return nil, nil
	}
	tags := make(map[string]string, len(all))
	keys := make([]string, 0, len(all))
	for _, t := range all {
		tags[t.Key] = t.Value
		keys = append(keys, t.Key)
	}
	return tags, keys
}

// mentionsResourceTag: does any document use an aws:ResourceTag key?
func mentionsResourceTag(docs []json.RawMessage) bool {
	for _, d := range docs {
		if containsFold(d, "aws:resourcetag/") {
			return true
		}
	}
	return false
}

// containsFold reports whether b contains pattern, which is lower-case
// ASCII, in any case, without copying b (it runs on every authorised
// request).
func containsFold(b []byte, pattern string) bool {
	first := pattern[0]
	for i := 0; i+len(pattern) <= len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == first && bytes.EqualFold(b[i:i+len(pattern)], []byte(pattern)) {
			return true
		}
	}
	return false
}

// readBody reads the body for hashing (up to maxBody+1 bytes) and puts it
// back for the handler; a request without a body costs nothing.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}
