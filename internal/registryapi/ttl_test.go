package registryapi

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/trellis-mesh/trellis/internal/registry"
)

// TestAPIInstanceOutlivesTTL: with a 300 ms lease cap swept every 50 ms,
// an instance registered through the SDK (no trellis.io/ttl) is still
// there after ten lease periods, also once its custom health is
// UNHEALTHY; an instance that asked for a lease and never renews it is
// gone.
func TestAPIInstanceOutlivesTTL(t *testing.T) {
	const ttl = 300 * time.Millisecond
	c, ctx := setupWith(t, registry.Options{TTL: ttl, ExpiryInterval: 50 * time.Millisecond})
	nsID := namespace(t, c, ctx, "apps.local")
	svc := must[*sd.CreateServiceOutput](t)(c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(nsID),
		HealthCheckCustomConfig: &types.HealthCheckCustomConfig{}}))
	register := func(id string, extra map[string]string) {
		t.Helper()
		a := map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "80"}
		for k, v := range extra {
			a[k] = v
		}
		must[*sd.RegisterInstanceOutput](t)(c.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: svc.Service.Id, InstanceId: aws.String(id), Attributes: a}))
	}
	register("api", nil)
	register("leased", map[string]string{registry.AttrTTL: "1"})
	_, err := c.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: svc.Service.Id, InstanceId: aws.String("bad"),
		Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1", registry.AttrTTL: "soon"}})
	wantErr[*types.InvalidInput](t, "malformed lease", err)
	must[*sd.UpdateInstanceCustomHealthStatusOutput](t)(c.UpdateInstanceCustomHealthStatus(ctx, &sd.UpdateInstanceCustomHealthStatusInput{
		ServiceId: svc.Service.Id, InstanceId: aws.String("api"), Status: types.CustomHealthStatusUnhealthy}))
	time.Sleep(10 * ttl)
	li := must[*sd.ListInstancesOutput](t)(c.ListInstances(ctx, &sd.ListInstancesInput{ServiceId: svc.Service.Id}))
	if len(li.Instances) != 1 || aws.ToString(li.Instances[0].Id) != "api" {
		t.Fatalf("after %v: instances = %+v, want only the API-registered one", 10*ttl, li.Instances)
	}
	d := must[*sd.DiscoverInstancesOutput](t)(c.DiscoverInstances(ctx, &sd.DiscoverInstancesInput{NamespaceName: aws.String("apps.local"),
		ServiceName: aws.String("color"), HealthStatus: types.HealthStatusFilterUnhealthy}))
	if len(d.Instances) != 1 {
		t.Fatalf("unhealthy instances = %+v", d.Instances)
	}
}
