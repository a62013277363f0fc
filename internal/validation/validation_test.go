package validation

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// violationsOf unpacks the result of a validation function.
func violationsOf(t *testing.T, err error) []Violation {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %T is not *Error: %v", err, err)
	}
	if len(ve.Violations) == 0 {
		t.Fatalf("*Error without violations")
	}
	return ve.Violations
}

// ruleCase is one rule: mutate a valid spec so that exactly that rule
// breaks, and expect a violation at field whose rule contains rule.
type ruleCase[T any] struct {
	name   string
	base   func() *T // nil: the table's base
	mutate func(s *T)
	field  string
	rule   string
	others bool // the mutation also breaks other rules
}

func runRules[T any](t *testing.T, kind appmesh.Kind, base func() *T, cases []ruleCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := base
			if tc.base != nil {
				b = tc.base
			}
			s := b()
			tc.mutate(s)
			vs := violationsOf(t, Spec(kind, s))
			expectViolation(t, vs, tc.field, tc.rule, tc.others)
		})
	}
}

func expectViolation(t *testing.T, vs []Violation, field, rule string, others bool) {
	t.Helper()
	found := false
	for _, v := range vs {
		if v.Field == field && strings.Contains(v.Rule, rule) {
			found = true
		}
		if v.Rule == "" || !strings.HasPrefix(v.Field, "spec") && strings.HasPrefix(field, "spec") {
			t.Errorf("malformed violation %q", v)
		}
	}
	if !found {
		t.Fatalf("want %s: ...%s...; got %d violation(s):\n%s", field, rule, len(vs), listViolations(vs))
	}
	if !others && len(vs) != 1 {
		t.Errorf("want exactly one violation, got %d:\n%s", len(vs), listViolations(vs))
	}
}

func listViolations(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	return b.String()
}

// validCase is a spec that must pass.
type validCase struct {
	name string
	kind appmesh.Kind
	spec any
}

func TestKitchenSinksAreValid(t *testing.T) {
	cases := []validCase{
		{"mesh", appmesh.KindMesh, fullMesh()},
		{"virtual service node provider", appmesh.KindVirtualService, fullVirtualServiceNode()},
		{"virtual service router provider", appmesh.KindVirtualService, fullVirtualServiceRouter()},
		{"virtual router", appmesh.KindVirtualRouter, fullVirtualRouter()},
		{"virtual node cloud map", appmesh.KindVirtualNode, fullVirtualNode()},
		{"virtual node dns", appmesh.KindVirtualNode, fullVirtualNodeDNS()},
		{"virtual gateway", appmesh.KindVirtualGateway, fullVirtualGateway()},
		{"http route", appmesh.KindRoute, fullHTTPRoute()},
		{"http route exact path", appmesh.KindRoute, fullHTTPRoutePathExact()},
		{"http2 route", appmesh.KindRoute, fullHTTP2Route()},
		{"grpc route", appmesh.KindRoute, fullGRPCRoute()},
		{"tcp route", appmesh.KindRoute, fullTCPRoute()},
		{"gateway http route", appmesh.KindGatewayRoute, fullGatewayHTTPRoute()},
		{"gateway http route default prefix", appmesh.KindGatewayRoute, fullGatewayHTTPRouteDefaultPrefix()},
		{"gateway http2 route", appmesh.KindGatewayRoute, fullGatewayHTTP2Route()},
		{"gateway grpc route", appmesh.KindGatewayRoute, fullGatewayGRPCRoute()},
	}
	runValid(t, cases)
}

func runValid(t *testing.T, cases []validCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := Spec(tc.kind, tc.spec); err != nil {
				t.Fatalf("want no violations, got:\n%s", listViolations(violationsOf(t, err)))
			}
		})
	}
}

func TestZeroSpecs(t *testing.T) {
	want := map[appmesh.Kind]string{
		appmesh.KindRoute:          "spec: must set exactly one of grpcRoute|http2Route|httpRoute|tcpRoute, got 0 (none)",
		appmesh.KindVirtualGateway: "spec.listeners: is required",
		appmesh.KindGatewayRoute:   "spec: must set exactly one of grpcRoute|http2Route|httpRoute, got 0 (none)",
	}
	for _, k := range appmesh.Kinds {
		for _, spec := range []any{k.NewSpec(), nil, reflect.ValueOf(k.NewSpec()).Elem().Interface()} {
			err := Spec(k, spec)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != want[k] {
				t.Errorf("%s %T: got %q, want %q", k, spec, got, want[k])
			}
		}
	}
}

func TestSpecWrongTypeAndKind(t *testing.T) {
	vs := violationsOf(t, Spec(appmesh.KindMesh, &appmesh.RouteSpec{}))
	expectViolation(t, vs, "spec", "has type *appmesh.RouteSpec, want *appmesh.MeshSpec", false)
	vs = violationsOf(t, Spec(appmesh.KindMesh, (*appmesh.RouteSpec)(nil)))
	expectViolation(t, vs, "spec", "has type", false)
	vs = violationsOf(t, Spec(appmesh.Kind(0), &appmesh.MeshSpec{}))
	expectViolation(t, vs, "spec", "unknown resource kind 0", false)
}

func TestDeterministic(t *testing.T) {
	s := fullVirtualNode()
	for i := range s.Listeners {
		s.Listeners[i].PortMapping.Port = 0
		s.Listeners[i].HealthCheck.HealthyThreshold = 99
	}
	s.Backends[1].VirtualService.VirtualServiceName = "serviceb.local"
	first := Spec(appmesh.KindVirtualNode, s).Error()
	for range 20 {
		if got := Spec(appmesh.KindVirtualNode, s).Error(); got != first {
			t.Fatalf("non-deterministic:\n%s\n%s", first, got)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	v := Violation{Field: "spec.x", Rule: "is required"}
	if v.String() != "spec.x: is required" {
		t.Errorf("String() = %q", v.String())
	}
	e := &Error{}
	for i := range 12 {
		e.Violations = append(e.Violations, Violation{Field: fmt.Sprintf("f%d", i), Rule: "r"})
	}
	msg := e.Error()
	if !strings.HasPrefix(msg, "f0: r; f1: r;") || !strings.HasSuffix(msg, "f9: r; and 2 more") {
		t.Errorf("Error() = %q", msg)
	}
	if strings.Contains(msg, "f10") {
		t.Errorf("Error() shows more than 10: %q", msg)
	}
	e.Violations = e.Violations[:1]
	if e.Error() != "f0: r" {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestJoin(t *testing.T) {
	if err := Join(); err != nil {
		t.Errorf("Join() = %v", err)
	}
	if err := Join(nil, nil, (*Error)(nil)); err != nil {
		t.Errorf("Join(nil...) = %v", err)
	}
	a := ResourceName(appmesh.KindVirtualNode, "virtualNodeName", "")
	b := Tags("tags", []appmesh.TagRef{{Key: ""}})
	vs := violationsOf(t, Join(a, nil, b, errors.New("boom")))
	want := []Violation{{"virtualNodeName", "is required"}, {"tags[0].key", "is required"}, {"", "boom"}}
	if !reflect.DeepEqual(vs, want) {
		t.Errorf("Join = %v, want %v", vs, want)
	}
	if got := Join(a).Error(); got != "virtualNodeName: is required" {
		t.Errorf("Join(a) = %q", got)
	}
}

func TestResourceName(t *testing.T) {
	long := strings.Repeat("a", 256)
	cases := []struct {
		kind  appmesh.Kind
		name  string
		field string
		rule  string
	}{
		{appmesh.KindVirtualNode, "", "virtualNodeName", "is required"},
		{appmesh.KindVirtualNode, long, "virtualNodeName", "length must be 1..255"},
		{appmesh.KindMesh, long, "meshName", "length must be 1..255"},
		{appmesh.KindGatewayRoute, long, "gatewayRouteName", "length must be 1..255"},
		{appmesh.KindVirtualService, "", "virtualServiceName", "is required"},
		{appmesh.KindVirtualNode, strings.Repeat("a", 255), "", ""},
		{appmesh.KindVirtualNode, strings.Repeat("é", 255), "", ""},
		{appmesh.KindVirtualService, strings.Repeat("a", 1000), "", ""},
		{appmesh.KindMesh, "bad\xffname", "meshName", "must be valid UTF-8"},
		{appmesh.KindVirtualNode, "\xc3", "virtualNodeName", "must be valid UTF-8"},
		{appmesh.KindMesh, "nul\x00", "meshName", "must not contain control characters"},
		{appmesh.KindRoute, "tab\tname", "routeName", "must not contain control characters"},
		{appmesh.KindVirtualRouter, "del\x7f", "virtualRouterName", "must not contain control characters"},
		{appmesh.KindMesh, "a/b", "meshName", `must not contain "/"`},
		{appmesh.KindVirtualNode, "/", "virtualNodeName", `must not contain "/"`},
		{appmesh.KindVirtualService, "svc/v1.local", "virtualServiceName", `must not contain "/"`},
		{appmesh.KindGatewayRoute, "..", "gatewayRouteName", `must not be ".."`},
		{appmesh.KindVirtualGateway, ".", "virtualGatewayName", `must not be "."`},
		{appmesh.KindVirtualNode, "my-service-a_my-apps", "", ""},
		{appmesh.KindVirtualNode, "colorteller.default", "", ""},
		{appmesh.KindRoute, "with space:colon", "", ""},
		{appmesh.KindVirtualService, "with space", "", ""},
		{appmesh.KindVirtualNode, "with space", "virtualNodeName", "must not contain whitespace"},
		{appmesh.KindMesh, "m\u00a0nbsp", "meshName", "must not contain whitespace"},
		{appmesh.KindVirtualGateway, "gw x", "virtualGatewayName", "must not contain whitespace"},
		{appmesh.KindMesh, "shared@111122223333", "meshName", `must not contain "@"`},
		{appmesh.KindVirtualNode, "user@host:colon", "", ""},
		{appmesh.KindVirtualService, "color.local.", "", ""},
		{appmesh.KindMesh, "...", "", ""},
		{appmesh.KindMesh, "日本語", "", ""},
	}
	for _, tc := range cases {
		field := tc.field
		if field == "" {
			field = tc.kind.NameKey()
		}
		err := ResourceName(tc.kind, field, tc.name)
		if tc.rule == "" {
			if err != nil {
				t.Errorf("%s %d chars: %v", tc.kind, len(tc.name), err)
			}
			continue
		}
		expectViolation(t, violationsOf(t, err), tc.field, tc.rule, false)
	}
}

func TestTags(t *testing.T) {
	many := make([]appmesh.TagRef, 51)
	for i := range many {
		many[i] = appmesh.TagRef{Key: fmt.Sprint("k", i)}
	}
	cases := []struct {
		tags  []appmesh.TagRef
		field string
		rule  string
	}{
		{many, "tags", "must have at most 50 items"},
		{[]appmesh.TagRef{{Key: ""}}, "tags[0].key", "is required"},
		{[]appmesh.TagRef{{Key: strings.Repeat("k", 129)}}, "tags[0].key", "length must be 1..128"},
		{[]appmesh.TagRef{{Key: "k", Value: strings.Repeat("v", 257)}}, "tags[0].value", "length must be 0..256"},
		{[]appmesh.TagRef{{Key: "a"}, {Key: "b"}, {Key: "a", Value: "x"}}, "tags[2].key", `duplicate key "a"`},
	}
	for _, tc := range cases {
		expectViolation(t, violationsOf(t, Tags("tags", tc.tags)), tc.field, tc.rule, false)
	}
	ok := [][]appmesh.TagRef{nil, {}, many[:50], {{Key: strings.Repeat("k", 128), Value: strings.Repeat("v", 256)}}, {{Key: "k", Value: ""}}}
	for _, tags := range ok {
		if err := Tags("tags", tags); err != nil {
			t.Errorf("Tags(%d) = %v", len(tags), err)
		}
	}
}

func TestTagKeys(t *testing.T) {
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprint("k", i)
	}
	expectViolation(t, violationsOf(t, TagKeys("tagKeys", many)), "tagKeys", "must have at most 50 items", false)
	expectViolation(t, violationsOf(t, TagKeys("tagKeys", []string{"a", ""})), "tagKeys[1]", "is required", false)
	expectViolation(t, violationsOf(t, TagKeys("tagKeys", []string{strings.Repeat("k", 129)})), "tagKeys[0]", "length must be 1..128", false)
	for _, keys := range [][]string{nil, {}, many[:50], {strings.Repeat("k", 128)}} {
		if err := TagKeys("tagKeys", keys); err != nil {
			t.Errorf("TagKeys(%d) = %v", len(keys), err)
		}
	}
}
