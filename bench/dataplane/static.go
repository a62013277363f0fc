package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// staticFrontYAML is the hand-written front proxy: an egress listener whose
// HTTP connection manager routes the virtual service's host to one STATIC
// cluster (the back proxy), the shape Trellis gives a virtual node with one
// backend under interception none.
const staticFrontYAML = `admin:
  address: {socket_address: {address: 127.0.0.1, port_value: %[1]d}}
static_resources:
  listeners:
  - name: egress
    address: {socket_address: {address: %[2]s, port_value: %[3]d}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: egress%[6]s
          route_config:
            name: egress
            virtual_hosts:
            - name: back
              domains: ["%[4]s", "%[4]s:%[3]d"]
              routes: [{match: {prefix: "/"}, route: {cluster: back%[7]s}}]
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  clusters:
  - name: back
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: back
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: %[5]s, port_value: %[3]d}}}}]}]
`

// staticBackYAML is the hand-written back proxy: an ingress listener
// routing everything to the local app.
const staticBackYAML = `admin:
  address: {socket_address: {address: 127.0.0.1, port_value: %[1]d}}
static_resources:
  listeners:
  - name: ingress
    address: {socket_address: {address: %[2]s, port_value: %[3]d}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress%[6]s
          route_config:
            name: ingress
            virtual_hosts:
            - name: app
              domains: ["*"]
              routes: [{match: {prefix: "/"}, route: {cluster: app%[7]s}}]
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  clusters:
  - name: app
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: app
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: %[4]s, port_value: %[5]d}}}}]}]
`

// App Mesh's defaults that Trellis applies where a spec is silent (see
// docs/envoy.md), spelled out for -static-defaults: HTTP connection
// manager settings, and per route a timeout, an idle timeout and (on the
// egress side) the default retry policy.
const (
	defaultsHCM = `
          stream_idle_timeout: 300s
          normalize_path: true
          merge_slashes: true
          path_with_escaped_slashes_action: KEEP_UNCHANGED
          upgrade_configs: [{upgrade_type: websocket}]`
	defaultsIngressRoute = `, timeout: 15s`
	defaultsEgressRoute  = `, timeout: 15s, idle_timeout: 300s, retry_policy: {retry_on: "connect-failure,refused-stream,reset,retriable-status-codes", num_retries: 2, retriable_status_codes: [503], host_selection_retry_max_attempts: 5, retry_host_predicate: [{name: envoy.retry_host_predicates.previous_hosts, typed_config: {"@type": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate}}]}`
)

// startStaticPath starts the two static Envoys with the flags the sidecar
// gives its Envoy.
// It returns their admin addresses.
func startStaticPath(procs *processes, o options, work string) ([]envoyAdmin, error) {
	frontAdmin, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	backAdmin, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	var hcm, ingressRoute, egressRoute string
	if o.staticDefaults {
		hcm, ingressRoute, egressRoute = defaultsHCM, defaultsIngressRoute, defaultsEgressRoute
	}
	configs := map[string]string{
		"static-front": fmt.Sprintf(staticFrontYAML, frontAdmin, staticFront, listenPort, serviceHost, staticBack, hcm, egressRoute),
		"static-back":  fmt.Sprintf(staticBackYAML, backAdmin, staticBack, listenPort, appIP, appPort, hcm, ingressRoute),
	}
	for _, name := range []string{"static-back", "static-front"} {
		path := filepath.Join(work, name+".yaml")
		if err := os.WriteFile(path, []byte(configs[name]), 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
		err := procs.start(filepath.Join(work, name+".log"), o.envoy, "-c", path, "-l", "warn",
			"--drain-time-s", "1", "--disable-hot-restart", "--concurrency", strconv.Itoa(o.concurrency))
		if err != nil {
			return nil, err
		}
	}
	return []envoyAdmin{
		{"static back", fmt.Sprintf("127.0.0.1:%d", backAdmin)},
		{"static front", fmt.Sprintf("127.0.0.1:%d", frontAdmin)},
	}, nil
}
