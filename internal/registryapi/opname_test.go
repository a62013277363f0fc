package registryapi

import (
	"net/http/httptest"
	"testing"
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
