package registryapi

import (
	"net/http/httptest"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apiserver/routes"
)

func TestOperation(t *testing.T) {
	a := New(nil, Options{})
	tests := []struct {
		method, target, want string
	}{
		{"POST", TargetPrefix + "RegisterInstance", "RegisterInstance"},
		{"POST", TargetPrefix + "DiscoverInstances", "DiscoverInstances"},
		{"POST", TargetPrefix + "MadeUp", ""},
		{"POST", "Other.RegisterInstance", ""},
		{"GET", TargetPrefix + "RegisterInstance", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			r.Header.Set("X-Amz-Target", tt.target)
			if got := a.Operation(r); got != tt.want {
				t.Errorf("Operation = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEveryOperationServed: the API has a handler for each Cloud Map
// operation of the routes table, and no other.
func TestEveryOperationServed(t *testing.T) {
	a := New(nil, Options{})
	names := routes.CloudMap()
	for _, name := range names {
		if a.ops[name] == nil {
			t.Errorf("%s has no handler", name)
		}
	}
	if len(a.ops) != len(names) {
		t.Errorf("%d handlers, %d operations", len(a.ops), len(names))
	}
}
