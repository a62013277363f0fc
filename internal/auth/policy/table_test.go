package policy

import (
	"net/netip"
	"testing"
)

const (
	region  = "us-east-1"
	account = "111122223333"
	ciRole  = "arn:aws:iam::111122223333:role/ci-deployer"
	devUser = "arn:aws:iam::111122223333:user/alice"
)

// Real App Mesh style policy documents, as teams wrote them for AWS.
var docs = map[string]string{
	"routeUpdaterShop": `{"Version":"2012-10-17","Statement":[{"Sid":"UpdateRoutesInShop","Effect":"Allow",
		"Action":["appmesh:UpdateRoute","appmesh:DescribeRoute"],
		"Resource":"arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualRouter/*/route/*"},
		{"Effect":"Allow","Action":"appmesh:ListRoutes","Resource":"arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualRouter/*"}]}`,
	"readOnly": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["appmesh:Describe*","appmesh:List*"],"Resource":"*"}]}`,
	"adminNoDeleteMesh": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"appmesh:*","Resource":"*"},
		{"Effect":"Deny","Action":"appmesh:DeleteMesh","Resource":"*"}]}`,
	"allButDelete": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":["appmesh:Delete*","servicediscovery:*"],"Resource":"*"}}`,
	"teamPayments": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:*","Resource":"*",
		"Condition":{"StringEquals":{"aws:ResourceTag/team":"payments"}}}]}`,
	"createTagged": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["appmesh:CreateVirtualNode","appmesh:TagResource"],"Resource":"*",
		"Condition":{"StringEquals":{"aws:RequestTag/team":"payments"},"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}}]}`,
	"officeOnly": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:*","Resource":"*",
		"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.1.10"]}}}]}`,
	"denyOutsideVPN": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*",
		"Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
	"ciRolesOnDev": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:*","Resource":"arn:aws:appmesh:*:*:mesh/dev*",
		"Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/ci-*"}}}]}`,
	"cloudMapRegistrar": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["servicediscovery:RegisterInstance","servicediscovery:DeregisterInstance"],
		 "Resource":"arn:aws:servicediscovery:us-east-1:111122223333:service/srv-abc"},
		{"Effect":"Allow","Action":["servicediscovery:Get*","servicediscovery:List*","servicediscovery:DiscoverInstances"],"Resource":"*"}]}`,
	"ownerVariable": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:*","Resource":"*",
		"Condition":{"StringEquals":{"aws:ResourceTag/owner":"${aws:PrincipalArn}"}}}]}`,
	"legacy2008": `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"APPMESH:describe*","Resource":"arn:aws:appmesh:us-east-1:111122223333:mesh/*"}}`,
	"notProd":    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:*","NotResource":["arn:aws:appmesh:*:*:mesh/prod","arn:aws:appmesh:*:*:mesh/prod/*"]}]}`,
	"noProdTags": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"appmesh:Create*","Resource":"*",
		"Condition":{"StringNotEqualsIfExists":{"aws:RequestTag/env":["dev","test"]}}}]}`,
	"noSecretTagKeys": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["appmesh:TagResource","appmesh:Create*"],"Resource":"*",
		"Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":"secret*"}}}]}`,
	"gatewayOps": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:*GatewayRoute*",
		"Resource":"arn:aws:appmesh:us-east-1:111122223333:mesh/edge/virtualGateway/ingress-??/gatewayRoute/*"}]}`,
	"requireTeamTag": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:CreateMesh","Resource":"*",
		"Condition":{"Null":{"aws:RequestTag/team":"false"},"StringLikeIfExists":{"aws:RequestTag/cost-center":"cc-*"}}}]}`,
	"adminAPI": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"trellis:*AccessKey*","Resource":"*",
		"Condition":{"StringEqualsIgnoreCase":{"aws:PrincipalArn":"ARN:AWS:IAM::111122223333:USER/ALICE"}}}]}`,
}

func routeARN(mesh, router, route string) string {
	return NewTable().mustARN("appmesh", "UpdateRoute", Target{MeshName: mesh, VirtualRouterName: router, RouteName: route})
}

func (t *Table) mustARN(service, name string, tg Target) string {
	op, ok := t.Lookup(service, name)
	if !ok {
		panic(name)
	}
	return op.ResourceARN(region, account, tg)
}

func TestPolicyTable(t *testing.T) {
	parsed := map[string]*Policy{}
	for name, doc := range docs {
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		parsed[name] = p
	}
	tbl := NewTable()
	vn := tbl.mustARN("appmesh", "DescribeVirtualNode", Target{MeshName: "shop", VirtualNodeName: "web"})
	shopMesh := MeshARN(region, account, "shop")
	devMesh := MeshARN(region, account, "dev-eu")
	prodVN := tbl.mustARN("appmesh", "UpdateVirtualNode", Target{MeshName: "prod", VirtualNodeName: "api"})
	gwr := func(gw string) string {
		return tbl.mustARN("appmesh", "UpdateGatewayRoute", Target{MeshName: "edge", VirtualGatewayName: gw, GatewayRouteName: "to-web"})
	}
	svc := ServiceARN(region, account, "srv-abc")
	office := netip.MustParseAddr("10.1.2.3")
	home := netip.MustParseAddr("203.0.113.7")
	payments := map[string]string{"team": "payments"}

	type row struct {
		name     string
		policies []string
		req      Request
		want     Decision
	}
	rows := []row{
		// "this role may only UpdateRoute in mesh shop"
		{"route updater: UpdateRoute in shop", []string{"routeUpdaterShop"}, Request{Action: "appmesh:UpdateRoute", Resource: routeARN("shop", "web-router", "canary")}, Allow},
		{"route updater: DescribeRoute in shop", []string{"routeUpdaterShop"}, Request{Action: "appmesh:DescribeRoute", Resource: routeARN("shop", "r", "x")}, Allow},
		{"route updater: ListRoutes of a shop router", []string{"routeUpdaterShop"}, Request{Action: "appmesh:ListRoutes", Resource: tbl.mustARN("appmesh", "ListRoutes", Target{MeshName: "shop", VirtualRouterName: "r"})}, Allow},
		{"route updater: UpdateRoute in another mesh", []string{"routeUpdaterShop"}, Request{Action: "appmesh:UpdateRoute", Resource: routeARN("shopping", "r", "x")}, ImplicitDeny},
		{"route updater: DeleteRoute in shop", []string{"routeUpdaterShop"}, Request{Action: "appmesh:DeleteRoute", Resource: routeARN("shop", "r", "x")}, ImplicitDeny},
		{"route updater: UpdateVirtualNode in shop", []string{"routeUpdaterShop"}, Request{Action: "appmesh:UpdateVirtualNode", Resource: vn}, ImplicitDeny},
		{"route updater: other account", []string{"routeUpdaterShop"}, Request{Action: "appmesh:UpdateRoute", Resource: "arn:aws:appmesh:us-east-1:999999999999:mesh/shop/virtualRouter/r/route/x"}, ImplicitDeny},
		{"route updater: other region", []string{"routeUpdaterShop"}, Request{Action: "appmesh:UpdateRoute", Resource: "arn:aws:appmesh:eu-west-1:111122223333:mesh/shop/virtualRouter/r/route/x"}, ImplicitDeny},
		// appmesh:Describe* read-only
		{"read-only: DescribeVirtualNode", []string{"readOnly"}, Request{Action: "appmesh:DescribeVirtualNode", Resource: vn}, Allow},
		{"read-only: ListMeshes on *", []string{"readOnly"}, Request{Action: "appmesh:ListMeshes", Resource: "*"}, Allow},
		{"read-only: action case-insensitive", []string{"readOnly"}, Request{Action: "AppMesh:describemesh", Resource: shopMesh}, Allow},
		{"read-only: CreateMesh", []string{"readOnly"}, Request{Action: "appmesh:CreateMesh", Resource: shopMesh}, ImplicitDeny},
		{"read-only: servicediscovery:ListServices", []string{"readOnly"}, Request{Action: "servicediscovery:ListServices", Resource: "*"}, ImplicitDeny},
		// explicit deny on DeleteMesh
		{"admin: UpdateMesh", []string{"adminNoDeleteMesh"}, Request{Action: "appmesh:UpdateMesh", Resource: shopMesh}, Allow},
		{"admin: DeleteMesh explicitly denied", []string{"adminNoDeleteMesh"}, Request{Action: "appmesh:DeleteMesh", Resource: shopMesh}, ExplicitDeny},
		{"admin + read-only: deny still wins", []string{"readOnly", "adminNoDeleteMesh"}, Request{Action: "appmesh:DeleteMesh", Resource: shopMesh}, ExplicitDeny},
		// NotAction
		{"NotAction: UpdateVirtualNode allowed", []string{"allButDelete"}, Request{Action: "appmesh:UpdateVirtualNode", Resource: prodVN}, Allow},
		{"NotAction: DeleteVirtualNode not allowed", []string{"allButDelete"}, Request{Action: "appmesh:DeleteVirtualNode", Resource: prodVN}, ImplicitDeny},
		{"NotAction: servicediscovery excluded", []string{"allButDelete"}, Request{Action: "servicediscovery:RegisterInstance", Resource: svc}, ImplicitDeny},
		{"NotAction: admin actions included", []string{"allButDelete"}, Request{Action: "trellis:CreateAccessKey", Resource: "*"}, Allow},
		// tag conditions
		{"ResourceTag team=payments", []string{"teamPayments"}, Request{Action: "appmesh:UpdateVirtualNode", Resource: vn, ResourceTags: payments}, Allow},
		{"ResourceTag team=search", []string{"teamPayments"}, Request{Action: "appmesh:UpdateVirtualNode", Resource: vn, ResourceTags: map[string]string{"team": "search"}}, ImplicitDeny},
		{"ResourceTag missing", []string{"teamPayments"}, Request{Action: "appmesh:UpdateVirtualNode", Resource: vn}, ImplicitDeny},
		{"ResourceTag key case-insensitive", []string{"teamPayments"}, Request{Action: "appmesh:DescribeMesh", Resource: shopMesh, ResourceTags: map[string]string{"Team": "payments"}}, Allow},
		{"RequestTag + TagKeys subset", []string{"createTagged"}, Request{Action: "appmesh:CreateVirtualNode", Resource: vn, RequestTags: map[string]string{"team": "payments", "env": "dev"}, TagKeys: []string{"team", "env"}}, Allow},
		{"TagKeys outside allowed set", []string{"createTagged"}, Request{Action: "appmesh:CreateVirtualNode", Resource: vn, RequestTags: map[string]string{"team": "payments", "owner": "x"}, TagKeys: []string{"team", "owner"}}, ImplicitDeny},
		{"RequestTag wrong team", []string{"createTagged"}, Request{Action: "appmesh:CreateVirtualNode", Resource: vn, RequestTags: map[string]string{"team": "search"}, TagKeys: []string{"team"}}, ImplicitDeny},
		{"RequestTag missing", []string{"createTagged"}, Request{Action: "appmesh:CreateVirtualNode", Resource: vn}, ImplicitDeny},
		{"deny prod env tag", []string{"adminNoDeleteMesh", "noProdTags"}, Request{Action: "appmesh:CreateMesh", Resource: shopMesh, RequestTags: map[string]string{"env": "prod"}, TagKeys: []string{"env"}}, ExplicitDeny},
		{"allow dev env tag", []string{"adminNoDeleteMesh", "noProdTags"}, Request{Action: "appmesh:CreateMesh", Resource: shopMesh, RequestTags: map[string]string{"env": "dev"}, TagKeys: []string{"env"}}, Allow},
		{"no env tag: IfExists makes the deny apply", []string{"adminNoDeleteMesh", "noProdTags"}, Request{Action: "appmesh:CreateMesh", Resource: shopMesh}, ExplicitDeny},
		{"ForAnyValue secret* tag key denied", []string{"adminNoDeleteMesh", "noSecretTagKeys"}, Request{Action: "appmesh:TagResource", Resource: vn, TagKeys: []string{"team", "secret-level"}}, ExplicitDeny},
		{"ForAnyValue no matching tag key", []string{"adminNoDeleteMesh", "noSecretTagKeys"}, Request{Action: "appmesh:TagResource", Resource: vn, TagKeys: []string{"team"}}, Allow},
		{"ForAnyValue without tags", []string{"adminNoDeleteMesh", "noSecretTagKeys"}, Request{Action: "appmesh:CreateVirtualNode", Resource: vn}, Allow},
		{"Null: team tag required", []string{"requireTeamTag"}, Request{Action: "appmesh:CreateMesh", Resource: shopMesh, RequestTags: payments, TagKeys: []string{"team"}}, Allow},
		{"Null: team tag absent", []string{"requireTeamTag"}, Request{Action: "appmesh:CreateMesh", Resource: shopMesh}, ImplicitDeny},
		{"StringLikeIfExists present and wrong", []string{"requireTeamTag"}, Request{Action: "appmesh:CreateMesh", Resource: shopMesh, RequestTags: map[string]string{"team": "a", "cost-center": "x"}}, ImplicitDeny},
		// SourceIp
		{"SourceIp in CIDR", []string{"officeOnly"}, Request{Action: "appmesh:DescribeMesh", Resource: shopMesh, SourceIP: office}, Allow},
		{"SourceIp single address", []string{"officeOnly"}, Request{Action: "appmesh:DescribeMesh", Resource: shopMesh, SourceIP: netip.MustParseAddr("192.168.1.10")}, Allow},
		{"SourceIp IPv4-mapped IPv6", []string{"officeOnly"}, Request{Action: "appmesh:DescribeMesh", Resource: shopMesh, SourceIP: netip.MustParseAddr("::ffff:10.9.9.9")}, Allow},
		{"SourceIp outside", []string{"officeOnly"}, Request{Action: "appmesh:DescribeMesh", Resource: shopMesh, SourceIP: home}, ImplicitDeny},
		{"SourceIp unknown", []string{"officeOnly"}, Request{Action: "appmesh:DescribeMesh", Resource: shopMesh}, ImplicitDeny},
		{"NotIpAddress deny from home", []string{"readOnly", "denyOutsideVPN"}, Request{Action: "appmesh:DescribeMesh", Resource: shopMesh, SourceIP: home}, ExplicitDeny},
		{"NotIpAddress inside VPN", []string{"readOnly", "denyOutsideVPN"}, Request{Action: "appmesh:DescribeMesh", Resource: shopMesh, SourceIP: office}, Allow},
		// ArnLike on aws:PrincipalArn
		{"ci role on dev mesh", []string{"ciRolesOnDev"}, Request{Action: "appmesh:UpdateMesh", Resource: devMesh, Principal: ciRole}, Allow},
		{"ci role on dev mesh child", []string{"ciRolesOnDev"}, Request{Action: "appmesh:UpdateVirtualNode", Resource: devMesh + "/virtualNode/a", Principal: ciRole}, Allow},
		{"user on dev mesh", []string{"ciRolesOnDev"}, Request{Action: "appmesh:UpdateMesh", Resource: devMesh, Principal: devUser}, ImplicitDeny},
		{"ci role on shop mesh", []string{"ciRolesOnDev"}, Request{Action: "appmesh:UpdateMesh", Resource: shopMesh, Principal: ciRole}, ImplicitDeny},
		// Cloud Map
		{"RegisterInstance on own service", []string{"cloudMapRegistrar"}, Request{Action: "servicediscovery:RegisterInstance", Resource: svc}, Allow},
		{"RegisterInstance on other service", []string{"cloudMapRegistrar"}, Request{Action: "servicediscovery:RegisterInstance", Resource: ServiceARN(region, account, "srv-other")}, ImplicitDeny},
		{"DiscoverInstances", []string{"cloudMapRegistrar"}, Request{Action: "servicediscovery:DiscoverInstances", Resource: "*"}, Allow},
		{"DeleteNamespace", []string{"cloudMapRegistrar"}, Request{Action: "servicediscovery:DeleteNamespace", Resource: NamespaceARN(region, account, "ns-1")}, ImplicitDeny},
		// policy variables
		{"owner tag equals principal", []string{"ownerVariable"}, Request{Action: "appmesh:DeleteMesh", Resource: shopMesh, Principal: devUser, ResourceTags: map[string]string{"owner": devUser}}, Allow},
		{"owner tag is someone else", []string{"ownerVariable"}, Request{Action: "appmesh:DeleteMesh", Resource: shopMesh, Principal: ciRole, ResourceTags: map[string]string{"owner": devUser}}, ImplicitDeny},
		// 2008 version, object statement, resource wildcards
		{"2008: lower-case action pattern", []string{"legacy2008"}, Request{Action: "appmesh:DescribeVirtualRouter", Resource: shopMesh + "/virtualRouter/r"}, Allow},
		{"2008: List not allowed", []string{"legacy2008"}, Request{Action: "appmesh:ListMeshes", Resource: "*"}, ImplicitDeny},
		{"NotResource: non-prod allowed", []string{"notProd"}, Request{Action: "appmesh:UpdateMesh", Resource: shopMesh}, Allow},
		{"NotResource: prod mesh excluded", []string{"notProd"}, Request{Action: "appmesh:UpdateMesh", Resource: MeshARN(region, account, "prod")}, ImplicitDeny},
		{"NotResource: prod child excluded", []string{"notProd"}, Request{Action: "appmesh:UpdateVirtualNode", Resource: prodVN}, ImplicitDeny},
		{"gateway route: ? wildcard matches", []string{"gatewayOps"}, Request{Action: "appmesh:UpdateGatewayRoute", Resource: gwr("ingress-01")}, Allow},
		{"gateway route: ? is one character", []string{"gatewayOps"}, Request{Action: "appmesh:UpdateGatewayRoute", Resource: gwr("ingress-1")}, ImplicitDeny},
		{"gateway route: ListGatewayRoutes is on the gateway", []string{"gatewayOps"}, Request{Action: "appmesh:ListGatewayRoutes", Resource: tbl.mustARN("appmesh", "ListGatewayRoutes", Target{MeshName: "edge", VirtualGatewayName: "ingress-01"})}, ImplicitDeny},
		// admin API
		{"admin API: alice", []string{"adminAPI"}, Request{Action: "trellis:CreateAccessKey", Resource: "*", Principal: devUser}, Allow},
		{"admin API: ci role", []string{"adminAPI"}, Request{Action: "trellis:CreateAccessKey", Resource: "*", Principal: ciRole}, ImplicitDeny},
		// no policies at all
		{"no policies: default deny", nil, Request{Action: "appmesh:ListMeshes", Resource: "*"}, ImplicitDeny},
	}
	if len(rows) < 40 {
		t.Fatalf("only %d rows", len(rows))
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var ps []*Policy
			for _, n := range r.policies {
				ps = append(ps, parsed[n])
			}
			if got := Evaluate(ps, r.req); got != r.want {
				t.Errorf("Evaluate(%v, %+v) = %v, want %v", r.policies, r.req, got, r.want)
			}
		})
	}
}
