package registryapi

import (
	"context"
	"slices"

	"github.com/trellis-mesh/trellis/internal/registry"
)

// soaJSON is Properties.DnsProperties.SOA of the namespace calls.
type soaJSON struct {
	DnsProperties *struct {
		SOA *struct{ TTL *int64 }
	}
}

func (p *soaJSON) ttl() (int64, bool) {
	if p == nil || p.DnsProperties == nil || p.DnsProperties.SOA == nil || p.DnsProperties.SOA.TTL == nil {
		return 0, false
	}
	return *p.DnsProperties.SOA.TTL, true
}

// checkSOA validates an SOA TTL (Cloud Map: 0 to 2147483647 seconds).
func checkSOA(p *soaJSON) (int64, error) {
	ttl, ok := p.ttl()
	if ok && (ttl < 0 || ttl > 2147483647) {
		return 0, invalid("SOA TTL must be between 0 and 2147483647, got %d", ttl)
	}
	return ttl, nil
}

func (a *API) createPublicDNSNamespace(ctx context.Context, body []byte) (any, error) {
	return a.createNamespace(ctx, body, registry.NamespaceDNSPublic)
}

// updaterRequestsKept is how many UpdaterRequestIds a namespace remembers
// to make retried updates idempotent.
const updaterRequestsKept = 10

type updateNamespaceInput struct {
	Id               string
	UpdaterRequestId string
	Namespace        *struct {
		Description *string
		Properties  *soaJSON
	}
}

func (a *API) updateHTTPNamespace(ctx context.Context, body []byte) (any, error) {
	return a.updateNamespace(ctx, body, registry.NamespaceHTTP)
}

func (a *API) updatePrivateDNSNamespace(ctx context.Context, body []byte) (any, error) {
	return a.updateNamespace(ctx, body, registry.NamespaceDNSPrivate)
}

func (a *API) updatePublicDNSNamespace(ctx context.Context, body []byte) (any, error) {
	return a.updateNamespace(ctx, body, registry.NamespaceDNSPublic)
}

// updateNamespace is the Update*Namespace calls: the namespace must be of
// the call's type; an UpdaterRequestId seen before is not applied again.
func (a *API) updateNamespace(ctx context.Context, body []byte, typ string) (any, error) {
	var in updateNamespaceInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.Namespace == nil {
		return nil, invalid("Namespace is required")
	}
	if typ == registry.NamespaceHTTP && in.Namespace.Description == nil {
		return nil, invalid("Namespace.Description is required")
	}
	if typ == registry.NamespaceHTTP && in.Namespace.Properties != nil {
		return nil, invalid("an HTTP namespace has no DNS properties")
	}
	ttl, err := checkSOA(in.Namespace.Properties)
	if err != nil {
		return nil, err
	}
	_, setTTL := in.Namespace.Properties.ttl()
	_, err = a.reg.UpdateNamespace(ctx, in.Id, func(n *registry.Namespace) error {
		if n.Type != typ {
			return invalid("namespace %s is of type %s, not %s", in.Id, n.Type, typ)
		}
		if in.UpdaterRequestId != "" && slices.Contains(n.UpdaterRequestIDs, in.UpdaterRequestId) {
			return nil
		}
		if in.Namespace.Description != nil {
			n.Description = *in.Namespace.Description
		}
		if setTTL {
			n.SOATTL = ttl
		}
		if in.UpdaterRequestId != "" {
			n.UpdaterRequestIDs = append(n.UpdaterRequestIDs, in.UpdaterRequestId)
			if len(n.UpdaterRequestIDs) > updaterRequestsKept {
				n.UpdaterRequestIDs = n.UpdaterRequestIDs[1:]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"OperationId": a.newOperation("UPDATE_NAMESPACE", map[string]string{"NAMESPACE": in.Id})}, nil
}
