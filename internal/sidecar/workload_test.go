package sidecar

import (
	"strings"
	"testing"
)

func TestLoadWorkload(t *testing.T) {
	base := map[string]string{"mesh": "m", "virtual-node": "n"}
	tests := []struct {
		name    string
		flags   map[string]string
		env     map[string]string
		want    WorkloadOptions
		wantErr string
	}{
		{name: "off", want: WorkloadOptions{TrustDomain: DefaultTrustDomain}},
		{name: "token via env, CA at the API", flags: map[string]string{"api-endpoint": "http://cp:9080"},
			env:  map[string]string{"TRELLIS_JOIN_TOKEN": "tok"},
			want: WorkloadOptions{JoinToken: "tok", TrustDomain: DefaultTrustDomain, CAEndpoint: "http://cp:9080"}},
		{name: "own CA endpoint and trust domain",
			flags: map[string]string{"join-token": "tok", "ca-endpoint": "https://ca:8443", "trust-domain": "example.org"},
			want:  WorkloadOptions{JoinToken: "tok", TrustDomain: "example.org", CAEndpoint: "https://ca:8443"}},
		{name: "token without endpoint", flags: map[string]string{"join-token": "tok"}, wantErr: "needs --ca-endpoint"},
		{name: "bad trust domain", flags: map[string]string{"trust-domain": "Not A Domain"}, wantErr: "trust-domain"},
		{name: "bad ca endpoint", flags: map[string]string{"ca-endpoint": "ftp://x"}, wantErr: "ca-endpoint"},
		{name: "xds mtls", flags: map[string]string{"join-token": "tok", "api-endpoint": "http://cp:9080", "xds-mtls": "true"},
			want: WorkloadOptions{JoinToken: "tok", TrustDomain: DefaultTrustDomain, CAEndpoint: "http://cp:9080", XDSMTLS: true}},
		{name: "xds mtls without token", flags: map[string]string{"xds-mtls": "true"}, wantErr: "--xds-mtls needs --join-token"},
		{name: "sigv4", flags: map[string]string{"enrol-sigv4": "true", "api-endpoint": "http://cp:9080"},
			want: WorkloadOptions{SigV4: true, TrustDomain: DefaultTrustDomain, CAEndpoint: "http://cp:9080"}},
		{name: "sigv4 and token", flags: map[string]string{"enrol-sigv4": "true", "join-token": "t", "api-endpoint": "http://cp:9080"},
			wantErr: "exclusive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flags := map[string]string{}
			for k, v := range base {
				flags[k] = v
			}
			for k, v := range tc.flags {
				flags[k] = v
			}
			c, err := Load(src(flags, tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Workload != tc.want {
				t.Errorf("Workload = %+v, want %+v", c.Workload, tc.want)
			}
			md := nodeMetadata(&c.Proxy, false, c.Workload)[MetadataKey].(map[string]any)
			if got, _ := md["trustDomain"].(string); (got != "") != c.Workload.Enabled() {
				t.Errorf("metadata trustDomain %q with enrolment %v", got, c.Workload.Enabled())
			}
		})
	}
}
