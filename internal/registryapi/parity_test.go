package registryapi

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
)

// target resolves an operation id to its target of kind (NAMESPACE,
// SERVICE) and checks its type.
func target(t *testing.T, c *sd.Client, ctx context.Context, opID *string, typ types.OperationType, kind string) string {
	t.Helper()
	op := must[*sd.GetOperationOutput](t)(c.GetOperation(ctx, &sd.GetOperationInput{OperationId: opID})).Operation
	if op.Type != typ || op.Status != types.OperationStatusSuccess || op.Targets[kind] == "" {
		t.Fatalf("operation = %+v, want %s with a %s target", op, typ, kind)
	}
	return op.Targets[kind]
}

func soaTTL(ns *types.Namespace) int64 {
	if ns.Properties == nil || ns.Properties.DnsProperties == nil || ns.Properties.DnsProperties.SOA == nil {
		return -1
	}
	return aws.ToInt64(ns.Properties.DnsProperties.SOA.TTL)
}

// TestNamespaceUpdates covers CreatePublicDnsNamespace and the three
// Update*Namespace calls, with their type rules and idempotency.
func TestNamespaceUpdates(t *testing.T) {
	c, ctx := setup(t)
	httpID := namespace(t, c, ctx, "apps.local")
	pub := must[*sd.CreatePublicDnsNamespaceOutput](t)(c.CreatePublicDnsNamespace(ctx, &sd.CreatePublicDnsNamespaceInput{
		Name: aws.String("example.com"), Description: aws.String("public"),
		Properties: &types.PublicDnsNamespaceProperties{DnsProperties: &types.PublicDnsPropertiesMutable{SOA: &types.SOA{TTL: aws.Int64(60)}}}}))
	pubID := target(t, c, ctx, pub.OperationId, types.OperationTypeCreateNamespace, "NAMESPACE")
	priv := must[*sd.CreatePrivateDnsNamespaceOutput](t)(c.CreatePrivateDnsNamespace(ctx, &sd.CreatePrivateDnsNamespaceInput{
		Name: aws.String("svc.internal"), Vpc: aws.String("vpc-1")}))
	privID := target(t, c, ctx, priv.OperationId, types.OperationTypeCreateNamespace, "NAMESPACE")
	get := func(id string) *types.Namespace {
		t.Helper()
		return must[*sd.GetNamespaceOutput](t)(c.GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(id)})).Namespace
	}
	if ns := get(pubID); ns.Type != types.NamespaceTypeDnsPublic || soaTTL(ns) != 60 || aws.ToString(ns.Description) != "public" {
		t.Fatalf("public namespace = %+v", ns)
	}
	_, err := c.CreatePrivateDnsNamespace(ctx, &sd.CreatePrivateDnsNamespaceInput{Name: aws.String("novpc.internal"), Vpc: aws.String("")})
	wantErr[*types.InvalidInput](t, "private namespace without a VPC", err)

	up := must[*sd.UpdatePublicDnsNamespaceOutput](t)(c.UpdatePublicDnsNamespace(ctx, &sd.UpdatePublicDnsNamespaceInput{Id: aws.String(pubID),
		Namespace: &types.PublicDnsNamespaceChange{Description: aws.String("public v2"),
			Properties: &types.PublicDnsNamespacePropertiesChange{DnsProperties: &types.PublicDnsPropertiesMutableChange{SOA: &types.SOAChange{TTL: aws.Int64(300)}}}}}))
	target(t, c, ctx, up.OperationId, types.OperationTypeUpdateNamespace, "NAMESPACE")
	if ns := get(pubID); soaTTL(ns) != 300 || aws.ToString(ns.Description) != "public v2" {
		t.Fatalf("updated public namespace = %+v", ns)
	}
	must[*sd.UpdatePrivateDnsNamespaceOutput](t)(c.UpdatePrivateDnsNamespace(ctx, &sd.UpdatePrivateDnsNamespaceInput{Id: aws.String(privID),
		Namespace: &types.PrivateDnsNamespaceChange{Properties: &types.PrivateDnsNamespacePropertiesChange{
			DnsProperties: &types.PrivateDnsPropertiesMutableChange{SOA: &types.SOAChange{TTL: aws.Int64(15)}}}}}))
	if ns := get(privID); soaTTL(ns) != 15 {
		t.Fatalf("updated private namespace = %+v", ns)
	}
	// A retried UpdaterRequestId is not applied again.
	updHTTP := func(req, desc string) error {
		_, err := c.UpdateHttpNamespace(ctx, &sd.UpdateHttpNamespaceInput{Id: aws.String(httpID), UpdaterRequestId: aws.String(req),
			Namespace: &types.HttpNamespaceChange{Description: aws.String(desc)}})
		return err
	}
	for _, u := range [][2]string{{"u1", "first"}, {"u2", "second"}, {"u1", "first"}} {
		if err := updHTTP(u[0], u[1]); err != nil {
			t.Fatal(err)
		}
	}
	if d := aws.ToString(get(httpID).Description); d != "second" {
		t.Fatalf("description after a retried update = %q, want second", d)
	}

	_, err = c.UpdateHttpNamespace(ctx, &sd.UpdateHttpNamespaceInput{Id: aws.String(privID), Namespace: &types.HttpNamespaceChange{Description: aws.String("x")}})
	wantErr[*types.InvalidInput](t, "UpdateHttpNamespace on a DNS namespace", err)
	_, err = c.UpdatePrivateDnsNamespace(ctx, &sd.UpdatePrivateDnsNamespaceInput{Id: aws.String(pubID), Namespace: &types.PrivateDnsNamespaceChange{Description: aws.String("x")}})
	wantErr[*types.InvalidInput](t, "UpdatePrivateDnsNamespace on a public namespace", err)
	_, err = c.UpdatePublicDnsNamespace(ctx, &sd.UpdatePublicDnsNamespaceInput{Id: aws.String("ns-nope"), Namespace: &types.PublicDnsNamespaceChange{Description: aws.String("x")}})
	wantErr[*types.NamespaceNotFound](t, "UpdatePublicDnsNamespace on a missing namespace", err)
	_, err = c.UpdatePublicDnsNamespace(ctx, &sd.UpdatePublicDnsNamespaceInput{Id: aws.String(pubID), Namespace: &types.PublicDnsNamespaceChange{
		Properties: &types.PublicDnsNamespacePropertiesChange{DnsProperties: &types.PublicDnsPropertiesMutableChange{SOA: &types.SOAChange{TTL: aws.Int64(-1)}}}}})
	wantErr[*types.InvalidInput](t, "negative SOA TTL", err)
}

// TestServiceUpdatesAndAttributes covers CreateService's configuration
// rules, UpdateService and the service attribute calls.
func TestServiceUpdatesAndAttributes(t *testing.T) {
	c, ctx := setup(t)
	httpID := namespace(t, c, ctx, "apps.local")
	priv := must[*sd.CreatePrivateDnsNamespaceOutput](t)(c.CreatePrivateDnsNamespace(ctx, &sd.CreatePrivateDnsNamespaceInput{Name: aws.String("svc.internal"), Vpc: aws.String("vpc-1")}))
	privID := target(t, c, ctx, priv.OperationId, types.OperationTypeCreateNamespace, "NAMESPACE")
	records := &types.DnsConfig{DnsRecords: []types.DnsRecord{{Type: types.RecordTypeA, TTL: aws.Int64(60)}}}

	_, err := c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("x"), NamespaceId: aws.String(httpID), DnsConfig: records})
	wantErr[*types.InvalidInput](t, "DnsConfig on a service in an HTTP namespace", err)
	_, err = c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("x"), NamespaceId: aws.String(privID),
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, ResourcePath: aws.String("/")}})
	wantErr[*types.InvalidInput](t, "HealthCheckConfig in a private namespace", err)
	_, err = c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("x"), NamespaceId: aws.String(privID), DnsConfig: records, Type: types.ServiceTypeOptionHttp})
	wantErr[*types.InvalidInput](t, "Type HTTP with a DnsConfig", err)

	dnsSvc := must[*sd.CreateServiceOutput](t)(c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("db"), NamespaceId: aws.String(privID), DnsConfig: records})).Service
	httpSvc := must[*sd.CreateServiceOutput](t)(c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(httpID)})).Service
	if dnsSvc.Type != types.ServiceTypeDnsHttp || httpSvc.Type != types.ServiceTypeHttp {
		t.Fatalf("service types = %s, %s", dnsSvc.Type, httpSvc.Type)
	}

	op := must[*sd.UpdateServiceOutput](t)(c.UpdateService(ctx, &sd.UpdateServiceInput{Id: dnsSvc.Id, Service: &types.ServiceChange{
		Description: aws.String("database"), DnsConfig: &types.DnsConfigChange{DnsRecords: []types.DnsRecord{{Type: types.RecordTypeA, TTL: aws.Int64(10)}}}}}))
	target(t, c, ctx, op.OperationId, types.OperationTypeUpdateService, "SERVICE")
	got := must[*sd.GetServiceOutput](t)(c.GetService(ctx, &sd.GetServiceInput{Id: dnsSvc.Id})).Service
	if aws.ToString(got.Description) != "database" || got.DnsConfig == nil || len(got.DnsConfig.DnsRecords) != 1 || aws.ToInt64(got.DnsConfig.DnsRecords[0].TTL) != 10 {
		t.Fatalf("updated service = %+v", got)
	}
	_, err = c.UpdateService(ctx, &sd.UpdateServiceInput{Id: httpSvc.Id, Service: &types.ServiceChange{DnsConfig: &types.DnsConfigChange{DnsRecords: records.DnsRecords}}})
	wantErr[*types.InvalidInput](t, "UpdateService DnsConfig on an HTTP service", err)
	_, err = c.UpdateService(ctx, &sd.UpdateServiceInput{Id: httpSvc.Id, Service: &types.ServiceChange{
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, ResourcePath: aws.String("/")}}})
	wantErr[*types.InvalidInput](t, "UpdateService HealthCheckConfig in an HTTP namespace", err)
	_, err = c.UpdateService(ctx, &sd.UpdateServiceInput{Id: aws.String("srv-nope"), Service: &types.ServiceChange{Description: aws.String("x")}})
	wantErr[*types.ServiceNotFound](t, "UpdateService on a missing service", err)
	// The service ARN works wherever a service id does.
	byARN := must[*sd.UpdateServiceOutput](t)(c.UpdateService(ctx, &sd.UpdateServiceInput{Id: httpSvc.Arn, Service: &types.ServiceChange{Description: aws.String("colors")}}))
	target(t, c, ctx, byARN.OperationId, types.OperationTypeUpdateService, "SERVICE")

	sid := httpSvc.Id
	attrs := func() map[string]string {
		t.Helper()
		out := must[*sd.GetServiceAttributesOutput](t)(c.GetServiceAttributes(ctx, &sd.GetServiceAttributesInput{ServiceId: sid})).ServiceAttributes
		if aws.ToString(out.ServiceArn) != aws.ToString(httpSvc.Arn) || aws.ToString(out.ResourceOwner) != "123456789012" {
			t.Fatalf("service attributes = %+v", out)
		}
		return out.Attributes
	}
	if a := attrs(); len(a) != 0 {
		t.Fatalf("fresh service attributes = %v", a)
	}
	must[*sd.UpdateServiceAttributesOutput](t)(c.UpdateServiceAttributes(ctx, &sd.UpdateServiceAttributesInput{ServiceId: sid, Attributes: map[string]string{"team": "a", "tier": "web"}}))
	must[*sd.UpdateServiceAttributesOutput](t)(c.UpdateServiceAttributes(ctx, &sd.UpdateServiceAttributesInput{ServiceId: sid, Attributes: map[string]string{"team": "b"}}))
	if a := attrs(); len(a) != 2 || a["team"] != "b" || a["tier"] != "web" {
		t.Fatalf("attributes = %v", a)
	}
	must[*sd.DeleteServiceAttributesOutput](t)(c.DeleteServiceAttributes(ctx, &sd.DeleteServiceAttributesInput{ServiceId: sid, Attributes: []string{"tier", "absent"}}))
	if a := attrs(); len(a) != 1 || a["team"] != "b" {
		t.Fatalf("attributes after delete = %v", a)
	}
	// At the bound: 30 attributes fit, a 31st is refused and changes nothing.
	many := map[string]string{}
	for i := range 29 {
		many["k"+strconv.Itoa(i)] = "v"
	}
	must[*sd.UpdateServiceAttributesOutput](t)(c.UpdateServiceAttributes(ctx, &sd.UpdateServiceAttributesInput{ServiceId: sid, Attributes: many}))
	_, err = c.UpdateServiceAttributes(ctx, &sd.UpdateServiceAttributesInput{ServiceId: sid, Attributes: map[string]string{"one-too-many": "v"}})
	wantErr[*types.ServiceAttributesLimitExceededException](t, "31st service attribute", err)
	if a := attrs(); len(a) != 30 {
		t.Fatalf("attributes at the bound = %d", len(a))
	}
	_, err = c.GetServiceAttributes(ctx, &sd.GetServiceAttributesInput{ServiceId: aws.String("srv-nope")})
	wantErr[*types.ServiceNotFound](t, "GetServiceAttributes on a missing service", err)
	_, err = c.UpdateServiceAttributes(ctx, &sd.UpdateServiceAttributesInput{ServiceId: aws.String("srv-nope"), Attributes: map[string]string{"a": "b"}})
	wantErr[*types.ServiceNotFound](t, "UpdateServiceAttributes on a missing service", err)
	_, err = c.DeleteServiceAttributes(ctx, &sd.DeleteServiceAttributesInput{ServiceId: sid, Attributes: []string{}})
	wantErr[*types.InvalidInput](t, "DeleteServiceAttributes without keys", err)
}

// TestTags: tags given on create are readable; Tag/Untag/ListTags work by
// ARN for namespaces and services, up to 50 tags.
func TestTags(t *testing.T) {
	c, ctx := setup(t)
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	op := must[*sd.CreateHttpNamespaceOutput](t)(c.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String("apps.local"), Tags: []types.Tag{tag("env", "dev")}}))
	nsID := target(t, c, ctx, op.OperationId, types.OperationTypeCreateNamespace, "NAMESPACE")
	nsARN := aws.ToString(must[*sd.GetNamespaceOutput](t)(c.GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(nsID)})).Namespace.Arn)
	svc := must[*sd.CreateServiceOutput](t)(c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(nsID),
		Tags: []types.Tag{tag("team", "a"), tag("cost", "1")}})).Service
	list := func(arn string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, tg := range must[*sd.ListTagsForResourceOutput](t)(c.ListTagsForResource(ctx, &sd.ListTagsForResourceInput{ResourceARN: aws.String(arn)})).Tags {
			out[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return out
	}
	if got := list(nsARN); len(got) != 1 || got["env"] != "dev" {
		t.Fatalf("namespace tags = %v", got)
	}
	if got := list(aws.ToString(svc.Arn)); len(got) != 2 || got["team"] != "a" {
		t.Fatalf("service tags = %v", got)
	}
	must[*sd.TagResourceOutput](t)(c.TagResource(ctx, &sd.TagResourceInput{ResourceARN: svc.Arn, Tags: []types.Tag{tag("team", "b"), tag("owner", "me")}}))
	must[*sd.UntagResourceOutput](t)(c.UntagResource(ctx, &sd.UntagResourceInput{ResourceARN: svc.Arn, TagKeys: []string{"cost", "absent"}}))
	if got := list(aws.ToString(svc.Arn)); len(got) != 2 || got["team"] != "b" || got["owner"] != "me" {
		t.Fatalf("service tags after tag/untag = %v", got)
	}
	// At the bound: 50 tags fit, the 51st is refused as a whole.
	var fill []types.Tag
	for i := range 49 {
		fill = append(fill, tag(fmt.Sprintf("k%02d", i), "v"))
	}
	must[*sd.TagResourceOutput](t)(c.TagResource(ctx, &sd.TagResourceInput{ResourceARN: aws.String(nsARN), Tags: fill}))
	_, err := c.TagResource(ctx, &sd.TagResourceInput{ResourceARN: aws.String(nsARN), Tags: []types.Tag{tag("k50", "v"), tag("env", "prod")}})
	wantErr[*types.TooManyTagsException](t, "51st tag", err)
	if got := list(nsARN); len(got) != 50 || got["env"] != "dev" {
		t.Fatalf("namespace tags at the bound = %d, env=%q", len(got), got["env"])
	}
	_, err = c.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String("big"), Tags: append(fill, tag("a", "1"), tag("b", "2"))})
	wantErr[*types.TooManyTagsException](t, "51 tags on create", err)

	missing := "arn:aws:servicediscovery:us-west-2:123456789012:service/srv-nope"
	_, err = c.ListTagsForResource(ctx, &sd.ListTagsForResourceInput{ResourceARN: aws.String(missing)})
	wantErr[*types.ResourceNotFoundException](t, "ListTagsForResource on a missing service", err)
	_, err = c.TagResource(ctx, &sd.TagResourceInput{ResourceARN: aws.String(missing), Tags: []types.Tag{tag("a", "b")}})
	wantErr[*types.ResourceNotFoundException](t, "TagResource on a missing service", err)
	_, err = c.UntagResource(ctx, &sd.UntagResourceInput{ResourceARN: aws.String("not-an-arn"), TagKeys: []string{"a"}})
	wantErr[*types.InvalidInput](t, "UntagResource with a malformed ARN", err)
	_, err = c.TagResource(ctx, &sd.TagResourceInput{ResourceARN: svc.Arn, Tags: []types.Tag{tag("aws:reserved", "x")}})
	wantErr[*types.InvalidInput](t, "aws: tag prefix", err)
}

// TestHealthStatusAndRevision covers GetInstancesHealthStatus (with
// pagination) and DiscoverInstancesRevision, which changes on
// registration and deregistration but not on health updates.
func TestHealthStatusAndRevision(t *testing.T) {
	c, ctx := setup(t)
	nsID := namespace(t, c, ctx, "apps.local")
	svc := must[*sd.CreateServiceOutput](t)(c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(nsID),
		HealthCheckCustomConfig: &types.HealthCheckCustomConfig{}})).Service
	plain := must[*sd.CreateServiceOutput](t)(c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("plain"), NamespaceId: aws.String(nsID)})).Service
	revision := func() int64 {
		t.Helper()
		return aws.ToInt64(must[*sd.DiscoverInstancesRevisionOutput](t)(c.DiscoverInstancesRevision(ctx, &sd.DiscoverInstancesRevisionInput{
			NamespaceName: aws.String("apps.local"), ServiceName: aws.String("color")})).InstancesRevision)
	}
	r0 := revision()
	for _, id := range []string{"c", "a", "b"} {
		must[*sd.RegisterInstanceOutput](t)(c.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String(id),
			Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1"}}))
	}
	r1 := revision()
	if r1 <= r0 {
		t.Fatalf("revision after registering = %d, before %d", r1, r0)
	}
	must[*sd.UpdateInstanceCustomHealthStatusOutput](t)(c.UpdateInstanceCustomHealthStatus(ctx, &sd.UpdateInstanceCustomHealthStatusInput{
		ServiceId: svc.Id, InstanceId: aws.String("b"), Status: types.CustomHealthStatusUnhealthy}))
	if r := revision(); r != r1 {
		t.Fatalf("a health update changed the revision: %d → %d", r1, r)
	}
	d := must[*sd.DiscoverInstancesOutput](t)(c.DiscoverInstances(ctx, &sd.DiscoverInstancesInput{NamespaceName: aws.String("apps.local"), ServiceName: aws.String("color")}))
	if aws.ToInt64(d.InstancesRevision) != r1 {
		t.Fatalf("DiscoverInstances revision %d, DiscoverInstancesRevision %d", aws.ToInt64(d.InstancesRevision), r1)
	}

	status := must[*sd.GetInstancesHealthStatusOutput](t)(c.GetInstancesHealthStatus(ctx, &sd.GetInstancesHealthStatusInput{ServiceId: svc.Id}))
	if len(status.Status) != 3 || status.Status["b"] != types.HealthStatusUnhealthy || status.Status["a"] != types.HealthStatusHealthy || status.NextToken != nil {
		t.Fatalf("health status = %+v", status)
	}
	pages := sd.NewGetInstancesHealthStatusPaginator(c, &sd.GetInstancesHealthStatusInput{ServiceId: svc.Id, MaxResults: aws.Int32(2)})
	var seen []string
	for pages.HasMorePages() {
		p := must[*sd.GetInstancesHealthStatusOutput](t)(pages.NextPage(ctx))
		for id := range p.Status {
			seen = append(seen, id)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("paginated health status saw %v", seen)
	}
	one := must[*sd.GetInstancesHealthStatusOutput](t)(c.GetInstancesHealthStatus(ctx, &sd.GetInstancesHealthStatusInput{ServiceId: svc.Id, Instances: []string{"b"}}))
	if len(one.Status) != 1 || one.Status["b"] != types.HealthStatusUnhealthy {
		t.Fatalf("health of b = %+v", one.Status)
	}
	_, err := c.GetInstancesHealthStatus(ctx, &sd.GetInstancesHealthStatusInput{ServiceId: svc.Id, Instances: []string{"nope"}})
	wantErr[*types.InstanceNotFound](t, "health of a missing instance", err)
	_, err = c.GetInstancesHealthStatus(ctx, &sd.GetInstancesHealthStatusInput{ServiceId: aws.String("srv-nope")})
	wantErr[*types.ServiceNotFound](t, "health in a missing service", err)
	_, err = c.GetInstancesHealthStatus(ctx, &sd.GetInstancesHealthStatusInput{ServiceId: svc.Id, MaxResults: aws.Int32(101)})
	wantErr[*types.InvalidInput](t, "MaxResults 101", err)

	// Custom health needs a custom health check on the service.
	must[*sd.RegisterInstanceOutput](t)(c.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: plain.Id, InstanceId: aws.String("p"), Attributes: map[string]string{}}))
	_, err = c.UpdateInstanceCustomHealthStatus(ctx, &sd.UpdateInstanceCustomHealthStatusInput{ServiceId: plain.Id, InstanceId: aws.String("p"), Status: types.CustomHealthStatusUnhealthy})
	wantErr[*types.CustomHealthNotFound](t, "custom health without a custom health check", err)

	must[*sd.DeregisterInstanceOutput](t)(c.DeregisterInstance(ctx, &sd.DeregisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String("a")}))
	if r := revision(); r <= r1 {
		t.Fatalf("revision after deregistering = %d, before %d", r, r1)
	}
	_, err = c.DiscoverInstancesRevision(ctx, &sd.DiscoverInstancesRevisionInput{NamespaceName: aws.String("nope"), ServiceName: aws.String("color")})
	wantErr[*types.NamespaceNotFound](t, "revision in a missing namespace", err)
	_, err = c.DiscoverInstancesRevision(ctx, &sd.DiscoverInstancesRevisionInput{NamespaceName: aws.String("apps.local"), ServiceName: aws.String("nope")})
	wantErr[*types.ServiceNotFound](t, "revision of a missing service", err)
}

// TestListOperations: every operation the API ran is listed, filtered by
// namespace, service, status, type and update date, and paginated.
func TestListOperations(t *testing.T) {
	c, ctx := setup(t)
	start := time.Now().Add(-time.Second)
	nsID := namespace(t, c, ctx, "apps.local")
	svc := must[*sd.CreateServiceOutput](t)(c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(nsID)})).Service
	for _, id := range []string{"a", "b"} {
		must[*sd.RegisterInstanceOutput](t)(c.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String(id), Attributes: map[string]string{}}))
	}
	must[*sd.DeregisterInstanceOutput](t)(c.DeregisterInstance(ctx, &sd.DeregisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String("a")}))
	list := func(filters ...types.OperationFilter) []types.OperationSummary {
		t.Helper()
		return must[*sd.ListOperationsOutput](t)(c.ListOperations(ctx, &sd.ListOperationsInput{Filters: filters})).Operations
	}
	f := func(name types.OperationFilterName, cond types.FilterCondition, values ...string) types.OperationFilter {
		return types.OperationFilter{Name: name, Condition: cond, Values: values}
	}
	now := strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)
	for _, tc := range []struct {
		name    string
		filters []types.OperationFilter
		want    int
	}{
		{"all", nil, 4},
		{"namespace", []types.OperationFilter{f(types.OperationFilterNameNamespaceId, "", nsID)}, 1},
		{"service", []types.OperationFilter{f(types.OperationFilterNameServiceId, types.FilterConditionEq, aws.ToString(svc.Id))}, 3},
		{"type in", []types.OperationFilter{f(types.OperationFilterNameType, types.FilterConditionIn, "REGISTER_INSTANCE", "DEREGISTER_INSTANCE")}, 3},
		{"type and service", []types.OperationFilter{f(types.OperationFilterNameType, types.FilterConditionEq, "DEREGISTER_INSTANCE"),
			f(types.OperationFilterNameServiceId, types.FilterConditionEq, aws.ToString(svc.Id))}, 1},
		{"status", []types.OperationFilter{f(types.OperationFilterNameStatus, types.FilterConditionEq, "SUCCESS")}, 4},
		{"failed", []types.OperationFilter{f(types.OperationFilterNameStatus, types.FilterConditionIn, "FAIL", "PENDING")}, 0},
		{"between", []types.OperationFilter{f(types.OperationFilterNameUpdateDate, types.FilterConditionBetween, strconv.FormatInt(start.Unix(), 10), now)}, 4},
		{"before", []types.OperationFilter{f(types.OperationFilterNameUpdateDate, types.FilterConditionBetween, "0", strconv.FormatInt(start.Unix()-60, 10))}, 0},
	} {
		if got := list(tc.filters...); len(got) != tc.want {
			t.Errorf("%s: %d operations, want %d", tc.name, len(got), tc.want)
		}
	}
	for _, bad := range [][]types.OperationFilter{
		{f(types.OperationFilterNameNamespaceId, types.FilterConditionIn, nsID)},
		{f(types.OperationFilterNameType, types.FilterConditionEq, "A", "B")},
		{f(types.OperationFilterNameUpdateDate, types.FilterConditionEq, "1")},
		{f(types.OperationFilterNameUpdateDate, types.FilterConditionBetween, "yesterday", "today")},
		{f("COLOR", types.FilterConditionEq, "x")},
	} {
		_, err := c.ListOperations(ctx, &sd.ListOperationsInput{Filters: bad})
		wantErr[*types.InvalidInput](t, fmt.Sprintf("filter %+v", bad[0]), err)
	}
	pages := sd.NewListOperationsPaginator(c, &sd.ListOperationsInput{MaxResults: aws.Int32(3)})
	n, calls := 0, 0
	for pages.HasMorePages() {
		n += len(must[*sd.ListOperationsOutput](t)(pages.NextPage(ctx)).Operations)
		calls++
	}
	if n != 4 || calls != 2 {
		t.Fatalf("paginated: %d operations in %d pages", n, calls)
	}
}
