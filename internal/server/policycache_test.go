package server

import (
	"encoding/json"
	"fmt"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/trellis-mesh/trellis/internal/auth"
)

func metricValue(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	c.Write(&m)
	if m.Gauge != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}

// TestPolicyCacheBound: the cache holds at most max documents, empties
// itself when full (counted), and still decides correctly.
func TestPolicyCacheBound(t *testing.T) {
	const max = 3
	c := newPolicyCache(max)
	doc := func(i int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:Describe%d","Resource":"*"}]}`, i))
	}
	for i := range max {
		ok, err := c.authorize([]json.RawMessage{doc(i)}, auth.AuthzRequest{Action: fmt.Sprintf("appmesh:Describe%d", i), Resource: "*"})
		if err != nil || !ok {
			t.Fatalf("doc %d: %v %v", i, ok, err)
		}
	}
	if got := metricValue(c.entries); got != max || metricValue(c.resets) != 0 {
		t.Fatalf("at the bound: entries %v resets %v", got, metricValue(c.resets))
	}
	ok, err := c.authorize([]json.RawMessage{doc(max)}, auth.AuthzRequest{Action: "appmesh:DescribeX", Resource: "*"})
	if err != nil || ok {
		t.Fatalf("over the bound: %v %v", ok, err)
	}
	if got := metricValue(c.entries); got != 1 || metricValue(c.resets) != 1 || len(c.parsed) != 1 {
		t.Fatalf("past the bound: entries %v resets %v", got, metricValue(c.resets))
	}
	if _, err := c.authorize([]json.RawMessage{json.RawMessage(`{"Statement":"x"}`)}, auth.AuthzRequest{}); err == nil {
		t.Fatal("bad document allowed")
	}
}
