package registryapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
)

// getInstancesHealthStatus reports the health of the given instances of a
// service (all when none are given), sorted by id and paginated.
// Instances registered without a custom health check are HEALTHY unless
// AWS_INIT_HEALTH_STATUS said otherwise; an id that is not registered is
// InstanceNotFound.
func (a *API) getInstancesHealthStatus(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ServiceId  string
		Instances  []string
		MaxResults *int
		NextToken  string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults)
	if err != nil {
		return nil, err
	}
	ins, err := a.reg.ListInstances(ctx, serviceID(in.ServiceId))
	if err != nil {
		return nil, err
	}
	health := map[string]string{}
	for _, i := range ins {
		health[i.ID] = i.Health
	}
	ids := in.Instances
	if len(ids) == 0 {
		for _, i := range ins {
			ids = append(ids, i.ID)
		}
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for _, id := range ids {
		if _, ok := health[id]; !ok {
			return nil, &apiError{code: "InstanceNotFound", status: http.StatusBadRequest, msg: "instance " + id + " is not registered in " + in.ServiceId}
		}
	}
	start := 0
	if in.NextToken != "" {
		if start, err = strconv.Atoi(in.NextToken); err != nil || start < 0 || start > len(ids) {
			return nil, invalid("NextToken %q was not issued by GetInstancesHealthStatus", in.NextToken)
		}
	}
	resp := map[string]any{}
	end := min(start+limit, len(ids))
	if end < len(ids) {
		resp["NextToken"] = strconv.Itoa(end)
	}
	status := map[string]string{}
	for _, id := range ids[start:end] {
		status[id] = health[id]
	}
	resp["Status"] = status
	return resp, nil
}

// discoverInstancesRevision returns the service's InstancesRevision, the
// same number DiscoverInstances returns. The SDKs send it to the data-
// host, like DiscoverInstances.
func (a *API) discoverInstancesRevision(ctx context.Context, body []byte) (any, error) {
	var in struct{ NamespaceName, ServiceName, OwnerAccount string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := a.checkOwner(in.OwnerAccount); err != nil {
		return nil, err
	}
	rev, err := a.reg.InstancesRevision(ctx, in.NamespaceName, in.ServiceName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"InstancesRevision": rev}, nil
}

// checkOwner refuses an OwnerAccount other than the server's account: no
// namespace is shared from another account.
func (a *API) checkOwner(owner string) error {
	if owner != "" && owner != a.account {
		return &apiError{code: "NamespaceNotFound", status: http.StatusBadRequest, msg: "no namespaces are shared from account " + owner}
	}
	return nil
}

// requireCustomHealth is Cloud Map's rule for
// UpdateInstanceCustomHealthStatus: the service must have a custom health
// check (HealthCheckCustomConfig), else CustomHealthNotFound.
func (a *API) requireCustomHealth(ctx context.Context, svcID string) error {
	s, err := a.reg.GetService(ctx, svcID)
	if err != nil {
		return err
	}
	if len(s.HealthCheckCustomConfig) == 0 {
		return &apiError{code: "CustomHealthNotFound", status: http.StatusBadRequest,
			msg: "service " + svcID + " has no custom health check (HealthCheckCustomConfig)"}
	}
	return nil
}
