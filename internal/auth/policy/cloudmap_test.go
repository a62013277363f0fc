package policy

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
)

// TestCloudMapInputsCarryTheirTarget checks, against the SDK's input types,
// that every servicediscovery operation on a namespace or service carries
// the identifier CloudMapTarget reads.
func TestCloudMapInputsCarryTheirTarget(t *testing.T) {
	tbl := NewTable()
	typ := reflect.TypeOf(&servicediscovery.Client{})
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		o, ok := tbl.Lookup("servicediscovery", m.Name)
		if !ok {
			continue
		}
		in := m.Type.In(2).Elem()
		has := func(f string) bool { _, ok := in.FieldByName(f); return ok }
		switch o.Resource {
		case ResourceNamespace:
			if !has("NamespaceId") && !has("Id") {
				t.Errorf("%s: no NamespaceId or Id in %s", m.Name, in)
			}
		case ResourceService:
			if !has("ServiceId") && !has("Id") {
				t.Errorf("%s: no ServiceId or Id in %s", m.Name, in)
			}
		case ResourceFromARN:
			if !has("ResourceARN") {
				t.Errorf("%s: no ResourceARN in %s", m.Name, in)
			}
		}
	}
}

func TestCloudMapTarget(t *testing.T) {
	tbl := NewTable()
	tests := []struct {
		op, body string
		want     string
	}{
		{"CreateService", `{"Name":"web","NamespaceId":"ns-1"}`, "arn:aws:servicediscovery:us-east-1:111122223333:namespace/ns-1"},
		{"GetNamespace", `{"Id":"ns-2"}`, "arn:aws:servicediscovery:us-east-1:111122223333:namespace/ns-2"},
		{"RegisterInstance", `{"ServiceId":"srv-1","InstanceId":"i-1"}`, "arn:aws:servicediscovery:us-east-1:111122223333:service/srv-1"},
		{"DeleteService", `{"Id":"srv-2"}`, "arn:aws:servicediscovery:us-east-1:111122223333:service/srv-2"},
		{"TagResource", `{"ResourceARN":"arn:aws:servicediscovery:us-east-1:111122223333:service/srv-3","Tags":[]}`, "arn:aws:servicediscovery:us-east-1:111122223333:service/srv-3"},
		{"ListNamespaces", ``, "*"},
		{"DiscoverInstances", `{"NamespaceName":"local","ServiceName":"web"}`, "*"},
	}
	for _, tt := range tests {
		o, _ := tbl.Lookup("servicediscovery", tt.op)
		tg, err := CloudMapTarget(o, []byte(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.op, err)
		}
		if got := o.ResourceARN(region, account, tg); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.op, got, tt.want)
		}
	}
	o, _ := tbl.Lookup("servicediscovery", "GetService")
	if _, err := CloudMapTarget(o, []byte(`{"Id":5}`)); err == nil {
		t.Error("bad body accepted")
	}
}
