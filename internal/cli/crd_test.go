package cli

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/server"
)

// crdServer runs a fresh in-process Trellis API server.
func crdServer(t *testing.T) string {
	t.Helper()
	s, err := server.Start(server.Config{
		DataDir:   t.TempDir(),
		APIAddr:   "127.0.0.1:0",
		Region:    "us-east-1",
		AccountID: "123456789012",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return "http://" + s.Addr()
}

// crdRun executes `trellis ARGS... --endpoint E` with stdin and returns
// stdout and the command's error.
func crdRun(t *testing.T, endpoint, stdin string, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "trellis", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(Commands()...)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append(args, "--endpoint", endpoint))
	err := root.Execute()
	return out.String(), err
}

func crdMustRun(t *testing.T, endpoint string, args ...string) string {
	t.Helper()
	out, err := crdRun(t, endpoint, "", args...)
	if err != nil {
		t.Fatalf("trellis %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// captureWarnings collects CRD conversion warnings for the test.
func captureWarnings(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	prev := crdWarnings
	crdWarnings = &buf
	t.Cleanup(func() { crdWarnings = prev })
	return &buf
}

// TestCRDMatchesAPIForm applies the howto color app as controller custom
// resources and as API documents to two fresh servers: the exported meshes
// are identical.
func TestCRDMatchesAPIForm(t *testing.T) {
	warnings := captureWarnings(t)
	crdEP, apiEP := crdServer(t), crdServer(t)
	crdApply := crdMustRun(t, crdEP, "apply", "-f", "testdata/color_crd.yaml")
	apiApply := crdMustRun(t, apiEP, "apply", "-f", "testdata/color_api.yaml")
	if crdApply != apiApply {
		t.Errorf("apply output differs:\n--- crd\n%s--- api\n%s", crdApply, apiApply)
	}
	if strings.Count(crdApply, " created\n") != 9 {
		t.Errorf("want 9 resources created:\n%s", crdApply)
	}
	crdExport := crdMustRun(t, crdEP, "export", "--mesh", "color-mesh")
	apiExport := crdMustRun(t, apiEP, "export", "--mesh", "color-mesh")
	if crdExport != apiExport {
		t.Errorf("export differs:\n--- crd\n%s--- api\n%s", crdExport, apiExport)
	}
	for _, want := range []string{
		"virtualNodeName: front_howto", "virtualServiceName: color.howto.svc.cluster.local",
		"virtualGatewayName: ingress-gw_howto", "gatewayRouteName: gateway-route-color_howto",
		"routeName: color-route", "virtualNode: green_howto",
	} {
		if !strings.Contains(crdExport, want) {
			t.Errorf("export lacks %q:\n%s", want, crdExport)
		}
	}
	if warnings.Len() != 0 {
		t.Errorf("unexpected warnings: %s", warnings)
	}

	// Re-applying the custom resources is a no-op; so is the API form.
	out := crdMustRun(t, crdEP, "apply", "-f", "testdata/color_crd.yaml")
	if strings.Count(out, " unchanged\n") != 9 {
		t.Errorf("re-apply:\n%s", out)
	}
	out = crdMustRun(t, crdEP, "apply", "-f", "testdata/color_api.yaml")
	if strings.Count(out, " unchanged\n") != 9 {
		t.Errorf("API form over CRD form:\n%s", out)
	}
	// And the custom resources delete everything, in reverse order.
	out = crdMustRun(t, crdEP, "delete", "-f", "testdata/color_crd.yaml")
	if !strings.HasPrefix(out, "gatewayroute/") || !strings.Contains(out, "mesh/color-mesh") {
		t.Errorf("delete:\n%s", out)
	}
}

const crdMesh = "apiVersion: appmesh.k8s.aws/v1beta2\nkind: Mesh\nmetadata: {name: m}\n---\n"

func TestCRDConversion(t *testing.T) {
	load := func(t *testing.T, src string) []*Document {
		t.Helper()
		docs, err := loadDocuments([]string{"-"}, strings.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		return docs
	}
	t.Run("awsName override and meshRef to mesh awsName", func(t *testing.T) {
		docs := load(t, `apiVersion: appmesh.k8s.aws/v1beta2
kind: Mesh
metadata: {name: k8s-mesh}
spec: {awsName: real-mesh}
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: Mesh
metadata: {name: other}
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: vn, namespace: ns}
spec:
  awsName: custom
  meshRef: {name: k8s-mesh}
`)
		got := map[string]bool{}
		for _, d := range docs {
			got[label(d.ID)] = true
		}
		for _, want := range []string{"mesh/real-mesh", "mesh/other", "virtualnode/real-mesh/custom"} {
			if !got[want] {
				t.Errorf("missing %s in %v", want, got)
			}
		}
	})
	t.Run("default namespace and names", func(t *testing.T) {
		docs := load(t, crdMesh+`apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualService
metadata: {name: svc}
spec:
  provider:
    virtualNode:
      virtualNodeARN: arn:aws:appmesh:us-east-1:123456789012:mesh/m/virtualNode/external
`)
		d := docs[1]
		if label(d.ID) != "virtualservice/m/svc.default" || string(d.Spec) != `{"provider":{"virtualNode":{"virtualNodeName":"external"}}}` {
			t.Errorf("got %s %s", label(d.ID), d.Spec)
		}
	})
	t.Run("backendGroups warning", func(t *testing.T) {
		warnings := captureWarnings(t)
		docs := load(t, crdMesh+`apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: vn, namespace: ns}
spec:
  backendGroups: [{name: "*"}]
`)
		if string(docs[1].Spec) != "" {
			t.Errorf("spec %s", docs[1].Spec)
		}
		if !strings.Contains(warnings.String(), "<stdin>#2: VirtualNode ns/vn: spec.backendGroups") {
			t.Errorf("warning %q", warnings)
		}
	})
}

func TestCRDErrors(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"missing ref": {crdMesh + `apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualService
metadata: {name: color, namespace: howto}
spec:
  provider:
    virtualRouter:
      virtualRouterRef: {name: nope}
`, "<stdin>#2: VirtualService howto/color: spec.provider.virtualRouter.virtualRouterRef: VirtualRouter howto/nope is not in the apply set"},
		"missing weighted target": {crdMesh + `apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualRouter
metadata: {name: r, namespace: ns}
spec:
  listeners: [{portMapping: {port: 80, protocol: http}}]
  routes:
    - name: x
      httpRoute:
        match: {prefix: /}
        action:
          weightedTargets: [{virtualNodeRef: {name: a, namespace: other}, weight: 1}]
`, "<stdin>#2: VirtualRouter ns/r: spec.routes[0].httpRoute.action.weightedTargets[0].virtualNodeRef: VirtualNode other/a is not in the apply set"},
		"no mesh": {`apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: vn, namespace: ns}
`, "<stdin>#1: VirtualNode ns/vn: meshRef required"},
		"two meshes": {crdMesh + strings.Replace(crdMesh, "name: m", "name: m2", 1) + `apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: vn, namespace: ns}
`, "<stdin>#3: VirtualNode ns/vn: meshRef required"},
		"unknown field": {crdMesh + `apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: vn, namespace: ns}
spec: {listenerz: []}
`, `<stdin>#2: VirtualNode ns/vn: converted spec of virtualnode/m/vn_ns: json: unknown field "listenerz"`},
		"bad kind":    {"apiVersion: appmesh.k8s.aws/v1beta2\nkind: Route\nmetadata: {name: r}\n", `<stdin>#1: kind "Route" of appmesh.k8s.aws/v1beta2`},
		"bad version": {"apiVersion: appmesh.k8s.aws/v1beta1\nkind: Mesh\nmetadata: {name: m}\n", `<stdin>#1: apiVersion "appmesh.k8s.aws/v1beta1"`},
		"duplicate":   {crdMesh + crdMesh, "<stdin>#2: Mesh m is also defined at <stdin>#1"},
		"gateway route without gateway": {crdMesh + `apiVersion: appmesh.k8s.aws/v1beta2
kind: GatewayRoute
metadata: {name: g, namespace: ns}
`, "<stdin>#2: GatewayRoute ns/g: spec.virtualGatewayRef required"},
	} {
		_, err := loadDocuments([]string{"-"}, strings.NewReader(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}
