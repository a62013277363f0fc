package registryapi

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"unicode/utf8"

	"github.com/trellis-mesh/trellis/internal/registry"
)

// Cloud Map's service attribute limits.
const (
	maxServiceAttributes      = 30
	maxServiceAttrKeyLen      = 255
	maxServiceAttrValueLen    = 1024
	maxServiceAttrKeysPerCall = 30
)

// checkServiceConfig applies Cloud Map's rules on a service's DNS and
// health check configuration in a namespace of type nsType.
func checkServiceConfig(nsType, svcType string, dnsConfig, hc, hcCustom json.RawMessage) error {
	if len(dnsConfig) > 0 {
		if nsType == registry.NamespaceHTTP {
			return invalid("a service in an HTTP namespace cannot have a DnsConfig")
		}
		if svcType == "HTTP" {
			return invalid("a service of type HTTP cannot have a DnsConfig")
		}
		var dc struct{ DnsRecords []json.RawMessage }
		if json.Unmarshal(dnsConfig, &dc) != nil || len(dc.DnsRecords) == 0 {
			return invalid("DnsConfig.DnsRecords is required")
		}
	}
	if svcType != "" && svcType != "HTTP" {
		return invalid("service Type must be HTTP, got %q", svcType)
	}
	if len(hc) > 0 && nsType != registry.NamespaceDNSPublic {
		return invalid("HealthCheckConfig is only valid in a public DNS namespace; use HealthCheckCustomConfig")
	}
	if len(hc) > 0 && len(hcCustom) > 0 {
		return invalid("a service can have HealthCheckConfig or HealthCheckCustomConfig, not both")
	}
	return nil
}

type serviceChangeInput struct {
	Id      string
	Service *struct {
		Description       *string
		DnsConfig         *struct{ DnsRecords []json.RawMessage }
		HealthCheckConfig json.RawMessage
	}
}

// updateService is UpdateService: Description when given; DnsRecords
// replace the service's records (only for a service with DNS records);
// HealthCheckConfig is replaced, and removed when omitted, as in Cloud
// Map; HealthCheckCustomConfig cannot change.
func (a *API) updateService(ctx context.Context, body []byte) (any, error) {
	var in serviceChangeInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.Service == nil {
		return nil, invalid("Service is required")
	}
	id := serviceID(in.Id)
	cur, err := a.reg.GetService(ctx, id)
	if err != nil {
		return nil, err
	}
	ns, err := a.reg.GetNamespace(ctx, cur.NamespaceID)
	if err != nil {
		return nil, err
	}
	ch := in.Service
	if ch.DnsConfig != nil && len(cur.DNSConfig) == 0 {
		return nil, invalid("service %s has no DNS records to update (it is discoverable through the API only)", id)
	}
	if ch.DnsConfig != nil && len(ch.DnsConfig.DnsRecords) == 0 {
		return nil, invalid("Service.DnsConfig.DnsRecords is required")
	}
	if err := checkServiceConfig(ns.Type, "", nil, ch.HealthCheckConfig, cur.HealthCheckCustomConfig); err != nil {
		return nil, err
	}
	_, err = a.reg.UpdateService(ctx, id, func(s *registry.Service) error {
		if ch.Description != nil {
			s.Description = *ch.Description
		}
		if ch.DnsConfig != nil {
			var dc map[string]json.RawMessage
			if err := json.Unmarshal(s.DNSConfig, &dc); err != nil || dc == nil {
				dc = map[string]json.RawMessage{}
			}
			dc["DnsRecords"], _ = json.Marshal(ch.DnsConfig.DnsRecords)
			s.DNSConfig, _ = json.Marshal(dc)
		}
		s.HealthCheckConfig = ch.HealthCheckConfig
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"OperationId": a.newOperation("UPDATE_SERVICE", map[string]string{"SERVICE": id})}, nil
}

type serviceAttributesInput struct {
	ServiceId  string
	Attributes json.RawMessage
}

func (a *API) getServiceAttributes(ctx context.Context, body []byte) (any, error) {
	var in serviceAttributesInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	s, err := a.reg.GetService(ctx, serviceID(in.ServiceId))
	if err != nil {
		return nil, err
	}
	attrs := s.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	return map[string]any{"ServiceAttributes": map[string]any{"ServiceArn": a.svcARN(s.ID), "ResourceOwner": a.account,
		"Attributes": attrs}}, nil
}

// updateServiceAttributes adds or replaces service attributes; a service
// holds at most 30 (ServiceAttributesLimitExceededException).
func (a *API) updateServiceAttributes(ctx context.Context, body []byte) (any, error) {
	var in serviceAttributesInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	var attrs map[string]string
	if json.Unmarshal(in.Attributes, &attrs) != nil || len(attrs) == 0 || len(attrs) > maxServiceAttrKeysPerCall {
		return nil, invalid("Attributes must map 1 to %d keys to string values", maxServiceAttrKeysPerCall)
	}
	for k, v := range attrs {
		if k == "" || utf8.RuneCountInString(k) > maxServiceAttrKeyLen || utf8.RuneCountInString(v) > maxServiceAttrValueLen {
			return nil, invalid("service attribute keys must be 1 to %d characters and values at most %d, got key %q",
				maxServiceAttrKeyLen, maxServiceAttrValueLen, k)
		}
	}
	_, err := a.reg.UpdateService(ctx, serviceID(in.ServiceId), func(s *registry.Service) error {
		merged := maps.Clone(s.Attributes)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, attrs)
		if len(merged) > maxServiceAttributes {
			return &apiError{code: "ServiceAttributesLimitExceededException", status: http.StatusBadRequest,
				msg: fmt.Sprintf("a service can have at most %d attributes; %s would have %d", maxServiceAttributes, s.ID, len(merged))}
		}
		s.Attributes = merged
		return nil
	})
	return struct{}{}, err
}

func (a *API) deleteServiceAttributes(ctx context.Context, body []byte) (any, error) {
	var in serviceAttributesInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	var keys []string
	if json.Unmarshal(in.Attributes, &keys) != nil || len(keys) == 0 || len(keys) > maxServiceAttrKeysPerCall {
		return nil, invalid("Attributes must list 1 to %d keys", maxServiceAttrKeysPerCall)
	}
	_, err := a.reg.UpdateService(ctx, serviceID(in.ServiceId), func(s *registry.Service) error {
		s.Attributes = maps.Clone(s.Attributes)
		for _, k := range keys {
			delete(s.Attributes, k)
		}
		return nil
	})
	return struct{}{}, err
}
