package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
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
	ok      prometheus.Counter // results{result="ok"}, looked up once
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
	m.ok = m.results.WithLabelValues("ok")
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(m.results); err != nil {
			m.log.Error("register auth metric", "err", err)
		}
	}
	return m
}

// Wrap puts the middleware in front of next.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return wrapped{m: m, next: next}
}

// wrapped is the middleware in front of one handler. Its ServeHTTP is the
// only frame the middleware keeps on the stack while the handler runs,
// and a small one (about 100 bytes): the work is in admit, whose larger
// frame (the parsed operation, an error, the locals of inlined calls) is
// gone by then. A connection's goroutine then needs hardly more stack for
// the handler than without authentication. That matters: when a request's
// deepest point no longer fits the goroutine's stack, the stack is copied
// to a larger one after every GC that shrank it (runtime.copystack; see
// appmesh.Timestamp.UnmarshalJSON).
type wrapped struct {
	m    *Middleware
	next http.Handler
}

// ServeHTTP authenticates, authorizes and audits one request (all but
// GET /healthz) and hands it to the wrapped handler when allowed.
func (h wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
		h.next.ServeHTTP(w, r)
		return
	}
	c := h.m.admit(w, r)
	if c == nil {
		return
	}
	r = r.WithContext(c)
	if h.m.opts.Audit == nil {
		h.next.ServeHTTP(w, r)
		return
	}
	h.next.ServeHTTP(&c.aw, r)
	c.aw.flushHeader()
}

// admit authenticates and authorizes r. It returns the call to serve,
// its audit writer ready when auditing, or nil when it has answered the
// request itself (a rejection, audited when the caller was authenticated).
//
//go:noinline
func (m *Middleware) admit(w http.ResponseWriter, r *http.Request) *call {
	body, err := readBody(r)
	if err != nil {
		m.reject(w, &sigv4.Error{Code: "SerializationException", Status: http.StatusBadRequest, Message: "request body unreadable"})
		return nil
	}
	c := &call{}
	op := m.opts.Classifier.Classify(r, body)
	ip, ipText := peer(r)
	aerr := m.authenticate(r, op, body, c)
	if aerr == nil {
		aerr = m.authorize(r, op, &c.id, body, ip)
	}
	if m.opts.Audit != nil {
		c.ev = Event{Time: time.Now().UTC(), Op: op, Identity: c.id, Region: m.opts.Classifier.Region,
			SourceIP: ipText, UserAgent: r.UserAgent(), RequestParameters: jsonObject(body)}
	}
	if aerr != nil {
		m.results.WithLabelValues(aerr.Code).Inc()
		m.log.Debug("request rejected", "code", aerr.Code, "action", op.Action, "akid", c.id.AccessKeyID, "source", ipText)
		if c.authed && m.opts.Audit != nil { // denied after authentication: audited
			c.ev.ErrorCode, c.ev.ErrorMessage, c.ev.Status = aerr.Code, aerr.Message, aerr.Status
			if err := m.opts.Audit.Append(r.Context(), &c.ev); err != nil {
				m.log.Error("audit append failed", "err", err)
			}
		}
		m.reject(w, aerr)
		return nil
	}
	m.ok.Inc()
	c.Context = r.Context()
	if m.opts.Audit != nil {
		c.aw = auditWriter{ResponseWriter: w, ctx: c, ev: &c.ev, audit: m.opts.Audit, log: m.log}
	}
	return c
}

// authenticate parses and verifies the signature into c and resolves the
// key; on success c.id is the caller and c.authed is true.
func (m *Middleware) authenticate(r *http.Request, op Operation, body []byte, c *call) *sigv4.Error {
	sig := &c.sig
	if err := sigv4.ParseInto(r, sig); err != nil {
		return asAuthError(err)
	}
	var err error
	if op.Service == ServiceTrellis && !strings.HasPrefix(r.URL.Path, AdminPathPrefix) { // /debug, /metrics, backup
		err = m.opts.Verifier.CheckScope(sig, op.Service, ServiceAppMesh)
	} else {
		err = m.opts.Verifier.CheckScope(sig, op.Service)
	}
	if err != nil {
		return asAuthError(err)
	}
	signingKey, key, err := m.opts.Keys.SigningKey(r.Context(), sig.AccessKeyID, sig.SecurityToken, sig.Date, sig.Region, sig.Service)
	switch {
	case errors.Is(err, errExpired):
		return sigv4.Expired()
	case errors.Is(err, ErrNotFound):
		return sigv4.Unrecognized()
	case err != nil:
		m.log.Error("access key lookup failed", "akid", sig.AccessKeyID, "err", err)
		return &sigv4.Error{Code: "InternalFailure", Status: http.StatusInternalServerError, Message: "internal error"}
	}
	if err := m.opts.Verifier.VerifyWithKey(r, sig, signingKey, sigv4.HashPayload(body)); err != nil {
		return asAuthError(err)
	}
	c.id = Identity{PrincipalARN: key.PrincipalARN, AccessKeyID: key.AccessKeyID, Temporary: key.Expiration != nil}
	c.authed = true
	return nil
}

// authorize evaluates the principal's policies when an Authorizer is set.
func (m *Middleware) authorize(r *http.Request, op Operation, id *Identity, body []byte, ip netip.Addr) *sigv4.Error {
	if m.opts.Authorize == nil {
		return nil
	}
	p, _, err := m.opts.Keys.Principal(r.Context(), id.PrincipalARN)
	if err != nil {
		return sigv4.AccessDenied(id.PrincipalARN, op.Action, op.Resource)
	}
	docs, resTags := p.documents()
	req := AuthzRequest{Action: op.Action, Resource: op.Resource, Principal: id.PrincipalARN, SourceIP: ip}
	req.RequestTags, req.TagKeys = requestTags(body)
	if m.opts.ResourceTags != nil && op.Resource != "*" && resTags {
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
