package registryapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/trellis-mesh/trellis/internal/registry"
)

// TargetPrefix prefixes the X-Amz-Target header of every Cloud Map call.
const TargetPrefix = "Route53AutoNaming_v20170314."

const maxBody = 1 << 20

// API serves the Cloud Map protocol over a Registry.
type API struct {
	reg     *registry.Registry
	log     *slog.Logger
	region  string
	account string
	ops     map[string]func(context.Context, []byte) (any, error)
}

// Options configure the API.
type Options struct {
	Region, AccountID string
	Logger            *slog.Logger
}

// New returns the Cloud Map API over reg.
func New(reg *registry.Registry, opts Options) *API {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &API{reg: reg, log: opts.Logger, region: opts.Region, account: opts.AccountID}
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
	}
	return a
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
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func invalid(format string, args ...any) error {
	return &apiError{"InvalidInput", http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// ServeHTTP dispatches one call.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	h, ok := a.ops[op]
	if !ok || r.Method != http.MethodPost {
		a.writeError(w, &apiError{"UnknownOperationException", http.StatusBadRequest, "unsupported operation " + op})
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
	b, _ := json.Marshal(map[string]string{"__type": ae.code, "message": ae.msg})
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
			return &apiError{c.code, http.StatusBadRequest, err.Error()}
		}
	}
	return &apiError{"InternalFailure", http.StatusInternalServerError, "internal error"}
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

// operation is what an operation id stands for. Creating and registering
// take effect at once, so ids are self-describing (base64 JSON) instead of
// stored: GetOperation decodes them and reports SUCCESS.
type operation struct {
	Type    string            `json:"t"`
	Targets map[string]string `json:"g"`
	At      int64             `json:"a"`
}

func newOperation(typ string, targets map[string]string) *string {
	b, _ := json.Marshal(operation{Type: typ, Targets: targets, At: time.Now().UnixMilli()})
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

func (a *API) getOperation(_ context.Context, body []byte) (any, error) {
	var in struct{ OperationId string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	var op operation
	raw, err := base64.RawURLEncoding.DecodeString(in.OperationId)
	if err != nil || json.Unmarshal(raw, &op) != nil || op.Type == "" {
		return nil, &apiError{"OperationNotFound", http.StatusBadRequest, "no operation " + in.OperationId}
	}
	at := toEpoch(time.UnixMilli(op.At))
	return map[string]any{"Operation": map[string]any{
		"Id": in.OperationId, "Type": op.Type, "Status": "SUCCESS", "Targets": op.Targets,
		"CreateDate": at, "UpdateDate": at, "OwnerAccount": a.account,
	}}, nil
}
