package registryapi

import (
	"context"

	"github.com/trellis-mesh/trellis/internal/registry"
)

type instanceInput struct {
	ServiceId, InstanceId, CreatorRequestId string
	Attributes                              map[string]string
	Status                                  string
}

func (a *API) registerInstance(ctx context.Context, body []byte) (any, error) {
	var in instanceInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if _, err := a.reg.RegisterInstance(ctx, in.ServiceId, in.InstanceId, in.Attributes, in.CreatorRequestId); err != nil {
		return nil, err
	}
	return map[string]any{"OperationId": a.newOperation("REGISTER_INSTANCE", map[string]string{"SERVICE": in.ServiceId, "INSTANCE": in.InstanceId})}, nil
}

func (a *API) deregisterInstance(ctx context.Context, body []byte) (any, error) {
	var in instanceInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := a.reg.DeregisterInstance(ctx, in.ServiceId, in.InstanceId); err != nil {
		return nil, err
	}
	return map[string]any{"OperationId": a.newOperation("DEREGISTER_INSTANCE", map[string]string{"SERVICE": in.ServiceId, "INSTANCE": in.InstanceId})}, nil
}

func (a *API) getInstance(ctx context.Context, body []byte) (any, error) {
	var in instanceInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	i, err := a.reg.GetInstance(ctx, in.ServiceId, in.InstanceId)
	if err != nil {
		return nil, err
	}
	m := map[string]any{"Id": i.ID, "Attributes": i.Attributes, "CreatedByAccount": a.account}
	if i.CreatorRequestID != "" {
		m["CreatorRequestId"] = i.CreatorRequestID
	}
	return map[string]any{"Instance": m, "ResourceOwner": a.account}, nil
}

func (a *API) listInstances(ctx context.Context, body []byte) (any, error) {
	var in instanceInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	ins, err := a.reg.ListInstances(ctx, in.ServiceId)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, i := range ins {
		out = append(out, map[string]any{"Id": i.ID, "Attributes": i.Attributes, "CreatedByAccount": a.account})
	}
	return map[string]any{"Instances": out, "ResourceOwner": a.account}, nil
}

func (a *API) updateHealth(ctx context.Context, body []byte) (any, error) {
	var in instanceInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	svcID := serviceID(in.ServiceId)
	if _, err := a.reg.GetInstance(ctx, svcID, in.InstanceId); err != nil {
		return nil, err
	}
	if err := a.requireCustomHealth(ctx, svcID); err != nil {
		return nil, err
	}
	return struct{}{}, a.reg.SetHealth(ctx, svcID, in.InstanceId, in.Status)
}

func (a *API) discoverInstances(ctx context.Context, body []byte) (any, error) {
	var in struct {
		NamespaceName, ServiceName, HealthStatus string
		MaxResults                               int
		QueryParameters, OptionalParameters      map[string]string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	ins, err := a.reg.Discover(ctx, in.NamespaceName, in.ServiceName, in.QueryParameters)
	if err != nil {
		return nil, err
	}
	ins = filterHealth(ins, in.HealthStatus)
	// OptionalParameters narrow the result only when some instance matches them.
	if len(in.OptionalParameters) > 0 {
		var narrowed []registry.Instance
		for _, i := range ins {
			if hasAll(i.Attributes, in.OptionalParameters) {
				narrowed = append(narrowed, i)
			}
		}
		if len(narrowed) > 0 {
			ins = narrowed
		}
	}
	if in.MaxResults > 0 && len(ins) > in.MaxResults {
		ins = ins[:in.MaxResults]
	}
	out := []map[string]any{}
	for _, i := range ins {
		out = append(out, map[string]any{"InstanceId": i.ID, "NamespaceName": in.NamespaceName, "ServiceName": in.ServiceName,
			"HealthStatus": i.Health, "Attributes": i.Attributes})
	}
	rev, err := a.reg.InstancesRevision(ctx, in.NamespaceName, in.ServiceName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Instances": out, "InstancesRevision": rev}, nil
}

func filterHealth(ins []registry.Instance, status string) []registry.Instance {
	keep := func(want string) []registry.Instance {
		var out []registry.Instance
		for _, i := range ins {
			if i.Health == want {
				out = append(out, i)
			}
		}
		return out
	}
	switch status {
	case "ALL":
		return ins
	case "UNHEALTHY":
		return keep(registry.Unhealthy)
	case "HEALTHY_OR_ELSE_ALL":
		if h := keep(registry.Healthy); len(h) > 0 {
			return h
		}
		return ins
	default: // HEALTHY, and Cloud Map's default when unset
		return keep(registry.Healthy)
	}
}

func hasAll(attrs, want map[string]string) bool {
	for k, v := range want {
		if attrs[k] != v {
			return false
		}
	}
	return true
}
