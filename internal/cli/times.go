package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// isTimeKey reports whether key is an App Mesh metadata timestamp (epoch
// seconds on the wire).
func isTimeKey(key string) bool { return key == "createdAt" || key == "lastUpdatedAt" }

// readableTimes rewrites every createdAt and lastUpdatedAt number in a
// JSON document as an RFC 3339 UTC string, the form the tables print.
// Other numbers keep their exact text.
func readableTimes(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	return json.Marshal(rewriteTimes(v))
}

func rewriteTimes(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if n, ok := x.(json.Number); ok && isTimeKey(k) {
				v[k] = when(n)
				continue
			}
			v[k] = rewriteTimes(x)
		}
	case []any:
		for i, x := range v {
			v[i] = rewriteTimes(x)
		}
	}
	return v
}
