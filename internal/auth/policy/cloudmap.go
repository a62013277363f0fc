package policy

import (
	"encoding/json"
	"fmt"
)

// CloudMapTarget reads the resource identifiers of a servicediscovery
// request body (awsJson1.1): NamespaceId or ServiceId, or Id for the
// operations on one namespace or service (GetNamespace, DeleteService, ...),
// and ResourceARN for the tagging operations. Fields the operation does not
// use are left empty; an empty body is an empty Target.
func CloudMapTarget(op Operation, body []byte) (Target, error) {
	var in struct {
		ID          string `json:"Id"`
		NamespaceID string `json:"NamespaceId"`
		ServiceID   string `json:"ServiceId"`
		ResourceARN string `json:"ResourceARN"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return Target{}, fmt.Errorf("policy: %s request body: %w", op.Name, err)
		}
	}
	var t Target
	switch op.Resource {
	case ResourceNamespace:
		t.NamespaceID = first(in.NamespaceID, in.ID)
	case ResourceService:
		t.ServiceID = first(in.ServiceID, in.ID)
	case ResourceFromARN:
		t.ResourceARN = in.ResourceARN
	}
	return t, nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
