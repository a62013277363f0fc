package reconcile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/trellis-mesh/trellis/internal/irgen"
)

// MetadataKey is the node metadata key under which the trellis sidecar
// describes its proxy. A stock App Mesh sidecar sends none and gets App
// Mesh's shape: iptables interception on ports 15000/15001.
const MetadataKey = "trellis"

// optionsFromMetadata reads proxy options from Envoy node metadata:
//
//	trellis:
//	  interception: iptables | none
//	  ingressPort: 15000         egressPort: 15001
//	  ingressAddress: 0.0.0.0    egressAddress: 0.0.0.0
//	  appAddress: 127.0.0.1
//	  appPorts: "9080:19080,9090:19090"
//	  tracing: true              (the bootstrap has a tracer)
//
// A stock App Mesh sidecar (no trellis key) gets App Mesh's HTTP managers,
// which always carried a tracing block: its agent put the tracer, if any,
// in the bootstrap.
func optionsFromMetadata(md map[string]any) (irgen.Options, error) {
	o := irgen.Options{Interception: true, IngressPort: 15000, EgressPort: 15001}
	t, _ := md[MetadataKey].(map[string]any)
	if t == nil {
		o.Tracing = true
		return o, nil
	}
	if v, ok := t["tracing"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return o, fmt.Errorf("metadata %s.tracing: want a boolean, got %T", MetadataKey, v)
		}
		o.Tracing = b
	}
	var err error
	if s, ok := t["interception"].(string); ok {
		switch s {
		case "iptables", "":
		case "none":
			o.Interception = false
		default:
			return o, fmt.Errorf("metadata %s.interception: want iptables or none, got %q", MetadataKey, s)
		}
	}
	if o.IngressPort, err = portField(t, "ingressPort", o.IngressPort); err != nil {
		return o, err
	}
	if o.EgressPort, err = portField(t, "egressPort", o.EgressPort); err != nil {
		return o, err
	}
	o.IngressAddress, _ = t["ingressAddress"].(string)
	o.EgressAddress, _ = t["egressAddress"].(string)
	o.AppAddress, _ = t["appAddress"].(string)
	o.TrustDomain, _ = t["trustDomain"].(string)
	if s, ok := t["appPorts"].(string); ok && s != "" {
		if o.AppPorts, err = parsePortMap(s); err != nil {
			return o, err
		}
	}
	return o, nil
}

func portField(t map[string]any, key string, def uint32) (uint32, error) {
	v, ok := t[key]
	if !ok {
		return def, nil
	}
	var n float64
	switch x := v.(type) {
	case float64:
		n = x
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, fmt.Errorf("metadata %s.%s: %q is not a port", MetadataKey, key, x)
		}
		n = f
	default:
		return 0, fmt.Errorf("metadata %s.%s: want a number, got %T", MetadataKey, key, v)
	}
	if n < 1 || n > 65535 || n != float64(int(n)) {
		return 0, fmt.Errorf("metadata %s.%s: %v is not a port", MetadataKey, key, v)
	}
	return uint32(n), nil
}

// parsePortMap parses "9080:19080,9090:19090".
func parsePortMap(s string) (map[uint32]uint32, error) {
	out := map[uint32]uint32{}
	for _, pair := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(pair), ":")
		a, errA := strconv.ParseUint(from, 10, 16)
		b, errB := strconv.ParseUint(to, 10, 16)
		if !ok || errA != nil || errB != nil || a == 0 || b == 0 {
			return nil, fmt.Errorf("metadata %s.appPorts: %q is not listenerPort:appPort", MetadataKey, pair)
		}
		out[uint32(a)] = uint32(b)
	}
	return out, nil
}
