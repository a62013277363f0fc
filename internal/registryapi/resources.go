package registryapi

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/trellis-mesh/trellis/internal/registry"
)

func (a *API) nsARN(id string) string {
	return "arn:aws:servicediscovery:" + a.region + ":" + a.account + ":namespace/" + id
}

func (a *API) svcARN(id string) string {
	return "arn:aws:servicediscovery:" + a.region + ":" + a.account + ":service/" + id
}

type createNamespaceInput struct {
	Name, CreatorRequestId, Description, Vpc string
	Properties                               *soaJSON
	Tags                                     []tagJSON
}

func (a *API) createHTTPNamespace(ctx context.Context, body []byte) (any, error) {
	return a.createNamespace(ctx, body, registry.NamespaceHTTP)
}

func (a *API) createPrivateDNSNamespace(ctx context.Context, body []byte) (any, error) {
	return a.createNamespace(ctx, body, registry.NamespaceDNSPrivate)
}

func (a *API) createNamespace(ctx context.Context, body []byte, typ string) (any, error) {
	var in createNamespaceInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if typ == registry.NamespaceDNSPrivate && in.Vpc == "" {
		return nil, invalid("Vpc is required for a private DNS namespace")
	}
	if err := checkTags(in.Tags, len(toTags(in.Tags)), in.Name); err != nil {
		return nil, err
	}
	ttl, err := checkSOA(in.Properties)
	if err != nil {
		return nil, err
	}
	n, err := a.reg.CreateNamespace(ctx, registry.Namespace{Name: in.Name, Type: typ, Description: in.Description,
		CreatorRequestID: in.CreatorRequestId, SOATTL: ttl, Tags: toTags(in.Tags)})
	if err != nil {
		return nil, err
	}
	return map[string]any{"OperationId": a.newOperation("CREATE_NAMESPACE", map[string]string{"NAMESPACE": n.ID})}, nil
}

func (a *API) namespaceJSON(ctx context.Context, n registry.Namespace) (map[string]any, error) {
	count, err := a.reg.CountServices(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	props := map[string]any{"HttpProperties": map[string]any{"HttpName": n.Name}}
	if n.Type != registry.NamespaceHTTP {
		dns := map[string]any{}
		if n.SOATTL > 0 {
			dns["SOA"] = map[string]any{"TTL": n.SOATTL}
		}
		props["DnsProperties"] = dns
	}
	m := map[string]any{"Id": n.ID, "Arn": a.nsARN(n.ID), "Name": n.Name, "Type": n.Type, "ServiceCount": count,
		"CreateDate": toEpoch(n.CreateDate), "Properties": props, "ResourceOwner": a.account}
	if n.Description != "" {
		m["Description"] = n.Description
	}
	if n.CreatorRequestID != "" {
		m["CreatorRequestId"] = n.CreatorRequestID
	}
	return m, nil
}

type idInput struct{ Id string }

func (a *API) getNamespace(ctx context.Context, body []byte) (any, error) {
	var in idInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	n, err := a.reg.GetNamespace(ctx, in.Id)
	if err != nil {
		return nil, err
	}
	m, err := a.namespaceJSON(ctx, n)
	return map[string]any{"Namespace": m}, err
}

type filter struct {
	Name      string
	Values    []string
	Condition string
}

func (a *API) listNamespaces(ctx context.Context, body []byte) (any, error) {
	var in struct{ Filters []filter }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	ns, err := a.reg.ListNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, n := range ns {
		if !passes(in.Filters, map[string]string{"TYPE": n.Type, "NAME": n.Name, "HTTP_NAME": n.Name, "RESOURCE_OWNER": "SELF"}) {
			continue
		}
		m, err := a.namespaceJSON(ctx, n)
		if err != nil {
			return nil, err
		}
		delete(m, "CreatorRequestId")
		out = append(out, m)
	}
	return map[string]any{"Namespaces": out}, nil
}

// passes applies EQ/IN filters (the conditions the list calls support;
// BEGINS_WITH on names too).
func passes(filters []filter, fields map[string]string) bool {
	for _, f := range filters {
		v, ok := fields[f.Name]
		if !ok {
			continue
		}
		switch f.Condition {
		case "BEGINS_WITH":
			if len(f.Values) == 0 || len(v) < len(f.Values[0]) || v[:len(f.Values[0])] != f.Values[0] {
				return false
			}
		default: // EQ, IN
			if !slices.Contains(f.Values, v) {
				return false
			}
		}
	}
	return true
}

func (a *API) deleteNamespace(ctx context.Context, body []byte) (any, error) {
	var in idInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if _, err := a.reg.DeleteNamespace(ctx, in.Id); err != nil {
		return nil, err
	}
	return map[string]any{"OperationId": a.newOperation("DELETE_NAMESPACE", map[string]string{"NAMESPACE": in.Id})}, nil
}

type createServiceInput struct {
	Name, NamespaceId, CreatorRequestId, Description string
	DnsConfig                                        json.RawMessage
	HealthCheckCustomConfig                          json.RawMessage
	HealthCheckConfig                                json.RawMessage
	Type                                             string
	Tags                                             []tagJSON
}

func (a *API) createService(ctx context.Context, body []byte) (any, error) {
	var in createServiceInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	nsID := in.NamespaceId
	if nsID == "" && len(in.DnsConfig) > 0 {
		var dc struct{ NamespaceId string }
		json.Unmarshal(in.DnsConfig, &dc)
		nsID = dc.NamespaceId
	}
	ns, err := a.reg.GetNamespace(ctx, nsID)
	if err != nil {
		return nil, err
	}
	if err := checkServiceConfig(ns.Type, in.Type, in.DnsConfig, in.HealthCheckConfig, in.HealthCheckCustomConfig); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags, len(toTags(in.Tags)), in.Name); err != nil {
		return nil, err
	}
	s, err := a.reg.CreateService(ctx, registry.Service{Name: in.Name, NamespaceID: nsID, Description: in.Description,
		CreatorRequestID: in.CreatorRequestId, DNSConfig: in.DnsConfig, HealthCheckCustomConfig: in.HealthCheckCustomConfig,
		HealthCheckConfig: in.HealthCheckConfig, Tags: toTags(in.Tags)})
	if err != nil {
		return nil, err
	}
	m, err := a.serviceJSON(ctx, s)
	return map[string]any{"Service": m}, err
}

func (a *API) serviceJSON(ctx context.Context, s registry.Service) (map[string]any, error) {
	count, err := a.reg.CountInstances(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	m := map[string]any{"Id": s.ID, "Arn": a.svcARN(s.ID), "Name": s.Name, "NamespaceId": s.NamespaceID,
		"InstanceCount": count, "CreateDate": toEpoch(s.CreateDate), "CreatedByAccount": a.account, "ResourceOwner": a.account}
	if s.Description != "" {
		m["Description"] = s.Description
	}
	if s.CreatorRequestID != "" {
		m["CreatorRequestId"] = s.CreatorRequestID
	}
	if len(s.DNSConfig) > 0 {
		m["DnsConfig"] = json.RawMessage(s.DNSConfig)
		m["Type"] = "DNS_HTTP"
	} else {
		m["Type"] = "HTTP"
	}
	if len(s.HealthCheckCustomConfig) > 0 {
		m["HealthCheckCustomConfig"] = json.RawMessage(s.HealthCheckCustomConfig)
	}
	if len(s.HealthCheckConfig) > 0 {
		m["HealthCheckConfig"] = json.RawMessage(s.HealthCheckConfig)
	}
	return m, nil
}

func (a *API) getService(ctx context.Context, body []byte) (any, error) {
	var in idInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	s, err := a.reg.GetService(ctx, in.Id)
	if err != nil {
		return nil, err
	}
	m, err := a.serviceJSON(ctx, s)
	return map[string]any{"Service": m}, err
}

func (a *API) listServices(ctx context.Context, body []byte) (any, error) {
	var in struct{ Filters []filter }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	ss, err := a.reg.ListServices(ctx, "")
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, s := range ss {
		if !passes(in.Filters, map[string]string{"NAMESPACE_ID": s.NamespaceID}) {
			continue
		}
		m, err := a.serviceJSON(ctx, s)
		if err != nil {
			return nil, err
		}
		delete(m, "NamespaceId")
		delete(m, "CreatorRequestId")
		out = append(out, m)
	}
	return map[string]any{"Services": out}, nil
}

func (a *API) deleteService(ctx context.Context, body []byte) (any, error) {
	var in idInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, a.reg.DeleteService(ctx, in.Id)
}
