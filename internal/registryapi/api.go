package registryapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/apiserver/routes"
	"github.com/trellis-mesh/trellis/internal/registry"
)

// TargetPrefix prefixes the X-Amz-Target header of every Cloud Map call.
const TargetPrefix = routes.CloudMapTargetPrefix

const maxBody = 1 << 20

// API serves the Cloud Map protocol over a Registry.
type API struct {
	reg     *registry.Registry
	log     *slog.Logger
	region  string
	account string
	now     func() time.Time
	opLog   *opLog
	ops     map[string]func(context.Context, []byte) (any, error)
	names   *routes.Table // the operations' names; ops has a handler for each
}

// Options configure the API.
type Options struct {
	Region, AccountID string
	Logger            *slog.Logger
	// OperationLog is how many operations ListOperations remembers; 0
	// means DefaultOperationLog.
	OperationLog int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// New returns the Cloud Map API over reg.
func New(reg *registry.Registry, opts Options) *API {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &API{reg: reg, log: opts.Logger, region: opts.Region, account: opts.AccountID, now: opts.Now,
		opLog: newOpLog(opts.OperationLog), names: routes.NewTable()}
	a.ops = map[string]func(context.Context, []byte) (any, error){
		"CreateHttpNamespace":              a.createHTTPNamespace,
		"CreatePrivateDnsNamespace":        a.createPrivateDNSNamespace,
		"GetNamespace":                     a.getNamespace,
		"ListNamespaces":                   a.listNamespaces,
		"DeleteNamespace":                  a.deleteNamespace,
		"CreateService":                    a.createService,
		"GetService":                       a.getService,
		"ListServices":                     a.listServices,
		"DeleteService":                    a.deleteService,
		"RegisterInstance":                 a.registerInstance,
		"DeregisterInstance":               a.deregisterInstance,
		"GetInstance":                      a.getInstance,
		"ListInstances":                    a.listInstances,
		"DiscoverInstances":                a.discoverInstances,
		"UpdateInstanceCustomHealthStatus": a.updateHealth,
		"GetOperation":                     a.getOperation,
		"ListOperations":                   a.listOperations,
		"GetInstancesHealthStatus":         a.getInstancesHealthStatus,
		"DiscoverInstancesRevision":        a.discoverInstancesRevision,
		"TagResource":                      a.tagResource,
		"UntagResource":                    a.untagResource,
		"ListTagsForResource":              a.listTagsForResource,
		"UpdateService":                    a.updateService,
		"UpdateHttpNamespace":              a.updateHTTPNamespace,
		"UpdatePrivateDnsNamespace":        a.updatePrivateDNSNamespace,
		"CreatePublicDnsNamespace":         a.createPublicDNSNamespace,
		"UpdatePublicDnsNamespace":         a.updatePublicDNSNamespace,
		"GetServiceAttributes":             a.getServiceAttributes,
		"UpdateServiceAttributes":          a.updateServiceAttributes,
		"DeleteServiceAttributes":          a.deleteServiceAttributes,
	}
	return a
}

// Collectors are the API's Prometheus metrics, for the owner's registry.
func (a *API) Collectors() []prometheus.Collector {
	return []prometheus.Collector{a.opLog.size, a.opLog.evicted}
}

// IsCloudMapRequest reports whether r is a Cloud Map call (what the server
// routes here).
func IsCloudMapRequest(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
}

// apiError is a Cloud Map error: code, HTTP status, message.
type apiError struct {
	code   string
	status int
	msg    string
	// extra are further members of the error body (e.g. ResourceName).
	extra map[string]string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func invalid(format string, args ...any) error {
	return &apiError{code: "InvalidInput", status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP dispatches one call.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	h, ok := a.ops[op]
	if !ok || r.Method != http.MethodPost {
		a.writeError(w, &apiError{code: "UnknownOperationException", status: http.StatusBadRequest, msg: "unsupported operation " + op})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		a.writeError(w, invalid("request body unreadable or larger than %d bytes", maxBody))
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	out, err := h(r.Context(), body)
	if err != nil {
		a.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	b, _ := json.Marshal(out)
	w.Write(b)
}

func (a *API) writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = mapError(err)
	}
	if ae.status >= 500 {
		a.log.Error("registry api: internal error", "err", err)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", ae.code)
	w.WriteHeader(ae.status)
	body := map[string]string{"__type": ae.code, "message": ae.msg}
	for k, v := range ae.extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	w.Write(b)
}

// mapError turns a registry sentinel into a Cloud Map error.
func mapError(err error) *apiError {
	codes := []struct {
		err  error
		code string
	}{
		{registry.ErrNamespaceNotFound, "NamespaceNotFound"},
		{registry.ErrServiceNotFound, "ServiceNotFound"},
		{registry.ErrInstanceNotFound, "InstanceNotFound"},
		{registry.ErrNamespaceExists, "NamespaceAlreadyExists"},
		{registry.ErrServiceExists, "ServiceAlreadyExists"},
		{registry.ErrResourceInUse, "ResourceInUse"},
		{registry.ErrDuplicateRequest, "DuplicateRequest"},
		{registry.ErrInvalidInput, "InvalidInput"},
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return &apiError{code: c.code, status: http.StatusBadRequest, msg: err.Error()}
		}
	}
	return &apiError{code: "InternalFailure", status: http.StatusInternalServerError, msg: "internal error"}
}

func decodeInput(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return invalid("malformed request body: %v", err)
	}
	return nil
}

// epoch is a timestamp on the wire: fractional epoch seconds.
type epoch float64

func toEpoch(t time.Time) epoch { return epoch(float64(t.UnixMilli()) / 1000) }
