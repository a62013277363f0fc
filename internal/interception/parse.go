package interception

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseInts parses App Mesh's comma-separated number lists
// (APPMESH_EGRESS_IGNORED_PORTS, APPMESH_IGNORE_UID, ...). Blanks and
// empty items are skipped. what names the setting in errors.
func ParseInts(what, s string) ([]int, error) {
	var out []int
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		n, err := strconv.Atoi(item)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", what, item)
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseAppPorts parses APPMESH_APP_PORTS. Besides App Mesh's "8080,9080"
// it accepts the Trellis sidecar's "listenerPort:appPort" pairs and keeps
// the listener port: that is the port clients dial, so the one to capture.
func ParseAppPorts(what, s string) ([]int, error) {
	var items []string
	for _, item := range strings.Split(s, ",") {
		listener, _, _ := strings.Cut(strings.TrimSpace(item), ":")
		items = append(items, listener)
	}
	return ParseInts(what, strings.Join(items, ","))
}

// ParseList splits a comma-separated list, dropping blanks.
func ParseList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// ParseBool reads App Mesh's boolean variables: 1/true/yes/enabled are
// true, 0/false/no/disabled and empty are false.
func ParseBool(what, s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on", "enabled":
		return true, nil
	case "", "0", "false", "no", "off", "disabled":
		return false, nil
	}
	return false, fmt.Errorf("%s: %q is not a boolean", what, s)
}
