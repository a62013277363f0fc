package registry

import (
	"errors"
	"net/url"
	"time"
)

// KeyPrefix is the root of everything the registry stores.
//
//	registry/ns/<namespace id>                       namespace
//	registry/nsname/<name>                           namespace id (name uniqueness)
//	registry/svc/<service id>                        service
//	registry/svcname/<namespace id>/<name>           service id (name uniqueness per namespace)
//	registry/inst/<service id>/<instance id>         instance
const (
	KeyPrefix     = "registry/"
	nsPrefix      = KeyPrefix + "ns/"
	nsNamePrefix  = KeyPrefix + "nsname/"
	svcPrefix     = KeyPrefix + "svc/"
	svcNamePrefix = KeyPrefix + "svcname/"
	instPrefix    = KeyPrefix + "inst/"
)

func esc(s string) string { return url.PathEscape(s) }

func nsKey(id string) string              { return nsPrefix + esc(id) }
func nsNameKey(name string) string        { return nsNamePrefix + esc(name) }
func svcKey(id string) string             { return svcPrefix + esc(id) }
func svcNamesPrefix(nsID string) string   { return svcNamePrefix + esc(nsID) + "/" }
func svcNameKey(nsID, name string) string { return svcNamesPrefix(nsID) + esc(name) }
func instsPrefix(svcID string) string     { return instPrefix + esc(svcID) + "/" }
func instKey(svcID, id string) string     { return instsPrefix(svcID) + esc(id) }

// Namespace types.
const (
	NamespaceHTTP       = "HTTP"
	NamespaceDNSPrivate = "DNS_PRIVATE"
	NamespaceDNSPublic  = "DNS_PUBLIC"
)

// Tag is one resource tag; order is kept as given.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Health statuses of an instance.
const (
	Healthy   = "HEALTHY"
	Unhealthy = "UNHEALTHY"
)

// Well-known instance attributes (Cloud Map's reserved names).
const (
	AttrIPv4       = "AWS_INSTANCE_IPV4"
	AttrIPv6       = "AWS_INSTANCE_IPV6"
	AttrPort       = "AWS_INSTANCE_PORT"
	AttrInitHealth = "AWS_INIT_HEALTH_STATUS"
)

// Namespace is a Cloud Map namespace.
type Namespace struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Type             string    `json:"type"`
	Description      string    `json:"description,omitempty"`
	CreatorRequestID string    `json:"creatorRequestId,omitempty"`
	CreateDate       time.Time `json:"createDate"`
	// SOATTL is the DNS namespaces' SOA record TTL (seconds; 0 unset).
	SOATTL int64 `json:"soaTTL,omitempty"`
	Tags   []Tag `json:"tags,omitempty"`
	// UpdaterRequestIDs are the UpdaterRequestIds of the updates applied
	// (the last few), so a retried update is not applied twice.
	UpdaterRequestIDs []string `json:"updaterRequestIds,omitempty"`
}

// Service is a Cloud Map service inside a namespace.
type Service struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	NamespaceID      string    `json:"namespaceId"`
	Description      string    `json:"description,omitempty"`
	CreatorRequestID string    `json:"creatorRequestId,omitempty"`
	CreateDate       time.Time `json:"createDate"`
	// Config holds the accepted-but-unused DnsConfig / health check
	// configuration as the client sent it, echoed back on reads.
	DNSConfig               []byte `json:"dnsConfig,omitempty"`
	HealthCheckCustomConfig []byte `json:"healthCheckCustomConfig,omitempty"`
	HealthCheckConfig       []byte `json:"healthCheckConfig,omitempty"`
	// Attributes are the service attributes (UpdateServiceAttributes).
	Attributes map[string]string `json:"attributes,omitempty"`
	Tags       []Tag             `json:"tags,omitempty"`
}

// Instance is one registered instance of a service.
type Instance struct {
	ServiceID        string            `json:"serviceId"`
	ID               string            `json:"id"`
	Attributes       map[string]string `json:"attributes"`
	CreatorRequestID string            `json:"creatorRequestId,omitempty"`
	Health           string            `json:"health"`
	// LastHeartbeat is when the instance was last registered or had its
	// health updated; it expires at LastHeartbeat+TTL.
	LastHeartbeat time.Time     `json:"lastHeartbeat"`
	TTL           time.Duration `json:"ttl"`
}

// Sentinel errors; the API maps them to Cloud Map error codes.
var (
	ErrNamespaceNotFound = errors.New("namespace not found")
	ErrServiceNotFound   = errors.New("service not found")
	ErrInstanceNotFound  = errors.New("instance not found")
	ErrNamespaceExists   = errors.New("namespace already exists")
	ErrServiceExists     = errors.New("service already exists")
	ErrResourceInUse     = errors.New("resource in use")
	ErrDuplicateRequest  = errors.New("duplicate request")
	ErrInvalidInput      = errors.New("invalid input")
)

// ServiceName names a Cloud Map service the way App Mesh virtual nodes do.
type ServiceName struct {
	Namespace string
	Service   string
}
