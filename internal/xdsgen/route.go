package xdsgen

import (
	"fmt"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previoushostsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/trellis-mesh/trellis/internal/ir"
)

const (
	previousHostsName = "envoy.retry_host_predicates.previous_hosts"
	// hostSelectionAttempts is what App Mesh set alongside previous_hosts:
	// enough tries to find an untried host without looping forever when
	// there is only one.
	hostSelectionAttempts = 5
	// zeroWeightStatus answers requests whose targets all weigh zero.
	zeroWeightStatus = 503
)

// buildRouteConfig maps a route table (an RDS resource).
func (mm *Memo) buildRouteConfig(rc *ir.RouteConfig) (*routev3.RouteConfiguration, error) {
	out := &routev3.RouteConfiguration{Name: rc.Name}
	for i := range rc.VirtualHosts {
		v, err := mm.buildVirtualHost(&rc.VirtualHosts[i])
		if err != nil {
			return nil, fmt.Errorf("route config %q: %w", rc.Name, err)
		}
		out.VirtualHosts = append(out.VirtualHosts, v)
	}
	return out, nil
}

// buildRoute maps one route; order is the IR's, since Envoy takes the first
// match.
func buildRoute(r *ir.Route) (*routev3.Route, error) {
	m, err := routeMatch(&r.Match)
	if err != nil {
		return nil, fmt.Errorf("route %q: %w", r.Name, err)
	}
	out := &routev3.Route{Name: r.Name, Match: m, RequestHeadersToRemove: slices.Clone(r.Action.RequestHeadersToRemove)}
	for _, h := range r.Action.RequestHeadersToAdd {
		out.RequestHeadersToAdd = append(out.RequestHeadersToAdd, &corev3.HeaderValueOption{
			Header:       &corev3.HeaderValue{Key: h.Key, Value: h.Value},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		})
	}
	if totalWeight(r.Action.Clusters) == 0 {
		if len(r.Action.Clusters) == 0 {
			return nil, fmt.Errorf("route %q: no clusters", r.Name)
		}
		// Envoy rejects weighted_clusters whose weights sum to zero, yet
		// App Mesh accepts such targets (every weight 0..100). The route
		// still matches, so the request must not fall through to a later
		// route: answer it here, as an upstream with no capacity would.
		out.Action = &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
			Status: zeroWeightStatus,
		}}
		return out, nil
	}
	a, err := routeAction(&r.Action)
	if err != nil {
		return nil, fmt.Errorf("route %q: %w", r.Name, err)
	}
	out.Action = &routev3.Route_Route{Route: a}
	return out, nil
}

func totalWeight(cs []ir.WeightedCluster) uint64 {
	var sum uint64
	for _, c := range cs {
		sum += uint64(c.Weight)
	}
	return sum
}

// routeAction forwards to one cluster, or to weighted clusters. Zero
// weights next to non-zero ones are kept (App Mesh canaries start at 0/100)
// so the cluster stays visible in route stats and config dumps.
func routeAction(a *ir.RouteAction) (*routev3.RouteAction, error) {
	out := &routev3.RouteAction{PrefixRewrite: a.PrefixRewrite}
	if a.HostRewrite != "" {
		out.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: a.HostRewrite}
	}
	if len(a.Clusters) == 1 {
		out.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: a.Clusters[0].Name}
	} else {
		w := &routev3.WeightedCluster{}
		for _, c := range a.Clusters {
			w.Clusters = append(w.Clusters, &routev3.WeightedCluster_ClusterWeight{
				Name: c.Name, Weight: wrapperspb.UInt32(c.Weight),
			})
		}
		out.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: w}
	}
	if a.PathRewrite != "" {
		if a.PrefixRewrite != "" {
			return nil, fmt.Errorf("both prefix and path rewrite set")
		}
		out.RegexRewrite = pathRewrite(a.PathRewrite)
	}
	if a.Timeout != nil {
		out.Timeout = durationpb.New(a.Timeout.Std())
	}
	if a.IdleTimeout != nil {
		out.IdleTimeout = durationpb.New(a.IdleTimeout.Std())
	}
	if a.Retry != nil {
		rp, err := retryPolicy(a.Retry)
		if err != nil {
			return nil, err
		}
		out.RetryPolicy = rp
	}
	return out, nil
}

// pathRewrite replaces the whole path. Envoy has no literal "set path"
// action; a regex that matches any path, substituted by the new one, is
// the supported equivalent (it leaves the query string alone, as App
// Mesh's rewrite.path.exact did). Backslashes are escaped because RE2
// substitutions read \N as a capture group.
func pathRewrite(path string) *matcherv3.RegexMatchAndSubstitute {
	return &matcherv3.RegexMatchAndSubstitute{
		Pattern:      regexMatcher("^.*$"),
		Substitution: strings.ReplaceAll(path, `\`, `\\`),
	}
}

// regexMatcher leaves engine_type unset: google_re2 is deprecated as an
// explicit choice because RE2 is the default (and only) engine.
func regexMatcher(re string) *matcherv3.RegexMatcher {
	return &matcherv3.RegexMatcher{Regex: re}
}

// retryPolicy maps retries. PreferOtherHosts adds the previous_hosts
// predicate, the shape App Mesh produced for explicit retry policies.
func retryPolicy(r *ir.RetryPolicy) (*routev3.RetryPolicy, error) {
	out := &routev3.RetryPolicy{
		RetryOn:              strings.Join(r.RetryOn, ","),
		NumRetries:           wrapperspb.UInt32(r.NumRetries),
		RetriableStatusCodes: slices.Clone(r.RetriableStatusCodes),
	}
	if r.PerTryTimeout != nil {
		out.PerTryTimeout = durationpb.New(r.PerTryTimeout.Std())
	}
	if r.PreferOtherHosts {
		a, err := typed(&previoushostsv3.PreviousHostsPredicate{})
		if err != nil {
			return nil, err
		}
		out.RetryHostPredicate = []*routev3.RetryPolicy_RetryHostPredicate{{
			Name:       previousHostsName,
			ConfigType: &routev3.RetryPolicy_RetryHostPredicate_TypedConfig{TypedConfig: a},
		}}
		out.HostSelectionRetryMaxAttempts = hostSelectionAttempts
	}
	return out, nil
}
