package bootstrap

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"
)

// Fragment is a user's bootstrap piece (YAML or JSON) merged into the
// rendered bootstrap, as App Mesh's agent merged ENVOY_TRACING_CFG_FILE,
// ENVOY_STATS_CONFIG_FILE and ENVOY_STATS_SINKS_CFG_FILE.
type Fragment struct {
	// Name says where the fragment came from, for errors (e.g. the
	// variable and path).
	Name string
	Data []byte
	// NeedSinks: the fragment must hold stats_sinks (the agent's rule for
	// ENVOY_STATS_SINKS_CFG_FILE).
	NeedSinks bool
}

// ErrFragment is wrapped by every error about a fragment's content.
var ErrFragment = errors.New("bootstrap fragment")

// Merge merges fragments into b with App Mesh's agent rules: tracing and
// stats_config may be given once (a second one is an error, whether
// generated or from another fragment); stats_sinks and
// static_resources.{listeners,clusters,secrets} are appended; any other
// top-level key replaces the rendered one and is returned in replaced, so
// the caller can warn. Top-level keys may be snake_case or lowerCamelCase.
// The result is decoded into a Bootstrap and validated; every extension
// in a fragment must carry a typed_config whose type this program links:
// every tracer and the stats sinks of config/metrics/v3, plus those in
// types.go. The OpenTelemetry stats sink is not linked (it would pull in
// the OTLP proto module), so a fragment naming it is refused.
func Merge(b *bootstrapv3.Bootstrap, frags []Fragment) (merged *bootstrapv3.Bootstrap, replaced []string, err error) {
	j, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(b)
	if err != nil {
		return nil, nil, fmt.Errorf("bootstrap: marshal: %w", err)
	}
	var dst map[string]any
	if err := json.Unmarshal(j, &dst); err != nil {
		return nil, nil, fmt.Errorf("bootstrap: %w", err)
	}
	for _, f := range frags {
		src, err := decodeFragment(f)
		if err != nil {
			return nil, nil, err
		}
		r, err := mergeMap(dst, src)
		if err != nil {
			return nil, nil, fmt.Errorf("%w %s: %w", ErrFragment, f.Name, err)
		}
		replaced = append(replaced, r...)
	}
	out, err := json.Marshal(dst)
	if err != nil {
		return nil, nil, fmt.Errorf("bootstrap: %w", err)
	}
	merged = &bootstrapv3.Bootstrap{}
	if err := protojson.Unmarshal(out, merged); err != nil {
		return nil, nil, fmt.Errorf("%w: merged bootstrap: %w", ErrFragment, err)
	}
	if err := merged.ValidateAll(); err != nil {
		return nil, nil, fmt.Errorf("%w: merged bootstrap: %w", ErrFragment, err)
	}
	return merged, replaced, nil
}

// decodeFragment parses YAML (or JSON) into a map with snake_case
// top-level keys.
func decodeFragment(f Fragment) (map[string]any, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(f.Data, &raw); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFragment, f.Name, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w %s: empty", ErrFragment, f.Name)
	}
	src := make(map[string]any, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		sk := snakeCase(k)
		if _, dup := src[sk]; dup {
			return nil, fmt.Errorf("%w %s: both %s and its snake_case form", ErrFragment, f.Name, k)
		}
		src[sk] = raw[k]
	}
	if _, ok := src["stats_sinks"]; f.NeedSinks && !ok {
		return nil, fmt.Errorf("%w %s: no stats_sinks", ErrFragment, f.Name)
	}
	return src, nil
}

func mergeMap(dst, src map[string]any) (replaced []string, err error) {
	for _, k := range slices.Sorted(maps.Keys(src)) {
		v := src[k]
		switch k {
		case "tracing", "stats_config":
			if _, ok := dst[k]; ok {
				return nil, fmt.Errorf("%s given twice (generated or in another file)", k)
			}
			dst[k] = v
		case "stats_sinks":
			if err := appendList(dst, k, v); err != nil {
				return nil, err
			}
		case "static_resources":
			if err := mergeStatic(dst, v); err != nil {
				return nil, err
			}
		default:
			if _, ok := dst[k]; ok {
				replaced = append(replaced, k)
			}
			dst[k] = v
		}
	}
	return replaced, nil
}

// mergeStatic appends listeners, clusters and secrets; other keys of
// static_resources are refused, since Envoy has no others.
func mergeStatic(dst map[string]any, v any) error {
	src, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("static_resources: want a map, got %T", v)
	}
	sr, _ := dst["static_resources"].(map[string]any)
	if sr == nil {
		sr = map[string]any{}
		dst["static_resources"] = sr
	}
	for _, k := range slices.Sorted(maps.Keys(src)) {
		switch k {
		case "listeners", "clusters", "secrets":
			if err := appendList(sr, k, src[k]); err != nil {
				return fmt.Errorf("static_resources: %w", err)
			}
		default:
			return fmt.Errorf("static_resources.%s: want listeners, clusters or secrets", k)
		}
	}
	return nil
}

func appendList(dst map[string]any, k string, v any) error {
	add, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%s: want a list, got %T", k, v)
	}
	have, _ := dst[k].([]any)
	dst[k] = append(have, add...)
	return nil
}

// snakeCase maps lowerCamelCase to snake_case ("statsSinks" →
// "stats_sinks"); snake_case stays as is.
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
