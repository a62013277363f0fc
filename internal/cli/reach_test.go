package cli_test

import (
	"net"
	"strings"
	"testing"
)

// TestServerNotRunning: a CLI verb against a port where nothing listens
// says how to start a server or point the CLI at one.
func TestServerNotRunning(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close() // a port where nothing listens now
	for _, args := range [][]string{{"get", "meshes"}, {"describe", "mesh", "x"}} {
		_, err := run(t, endpoint, "", args...)
		if err == nil {
			t.Fatalf("%v: no error without a server", args)
		}
		for _, want := range []string{"cannot reach the Trellis server at " + endpoint, "trellis server", "--endpoint", "TRELLIS_ENDPOINT"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: error %q does not mention %q", args, err, want)
			}
		}
	}
}

// TestGetHelpListsKinds: `trellis get --help` names every kind and its
// short name.
func TestGetHelpListsKinds(t *testing.T) {
	out, err := run(t, "http://127.0.0.1:1", "", "get", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mesh", "virtualnode", "vn", "virtualservice", "vs", "virtualrouter", "vr",
		"route", "virtualgateway", "vg", "gatewayroute", "gr", "RFC 3339"} {
		if !strings.Contains(out, want) {
			t.Errorf("get --help does not mention %q:\n%s", want, out)
		}
	}
}
