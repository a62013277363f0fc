package xdsgen

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// A virtual host is a service's routes as its clients see them, and it
// recurs in the route configuration of every client of the service, however
// different the clients' backend lists are. Virtual hosts are therefore
// built and validated once per content (the SHA-256 of their IR) and shared
// by every route configuration that holds them; a route configuration is
// validated without the virtual hosts known valid.

// vhostCache holds built, validated virtual hosts. It is dropped whole when
// it reaches its bound, so hosts of configurations long replaced are not
// pinned.
type vhostCache struct {
	mu    sync.Mutex
	byIR  map[[sha256.Size]byte]*routev3.VirtualHost
	valid map[*routev3.VirtualHost]bool
}

const vhostCacheLimit = 1 << 13

var vhosts = &vhostCache{byIR: map[[sha256.Size]byte]*routev3.VirtualHost{}, valid: map[*routev3.VirtualHost]bool{}}

func (c *vhostCache) get(k [sha256.Size]byte) *routev3.VirtualHost {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byIR[k]
}

func (c *vhostCache) put(k [sha256.Size]byte, v *routev3.VirtualHost) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byIR) >= vhostCacheLimit {
		c.byIR, c.valid = map[[sha256.Size]byte]*routev3.VirtualHost{}, map[*routev3.VirtualHost]bool{}
	}
	c.byIR[k], c.valid[v] = v, true
}

// isValid reports whether v is a host this cache validated.
func (c *vhostCache) isValid(v *routev3.VirtualHost) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.valid[v]
}

// buildVirtualHost maps and validates one virtual host, or returns the
// equal one built before.
func buildVirtualHost(vh *ir.VirtualHost) (*routev3.VirtualHost, error) {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(vh); err != nil {
		return nil, fmt.Errorf("virtual host %q: %w", vh.Name, err)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	if v := vhosts.get(key); v != nil {
		return v, nil
	}
	v := &routev3.VirtualHost{Name: vh.Name, Domains: slices.Clone(vh.Domains)}
	for j := range vh.Routes {
		r, err := buildRoute(&vh.Routes[j])
		if err != nil {
			return nil, fmt.Errorf("virtual host %q: %w", vh.Name, err)
		}
		v.Routes = append(v.Routes, r)
	}
	if err := validateProto("virtual host", vh.Name, v); err != nil {
		return nil, err
	}
	vhosts.put(key, v)
	return v, nil
}

// validateRouteConfig validates a route configuration, each of its virtual
// hosts not known valid on its own and the rest of it without them.
func validateRouteConfig(rc *routev3.RouteConfiguration) error {
	rest := rc.ProtoReflect().New()
	hosts := rc.ProtoReflect().Descriptor().Fields().ByName("virtual_hosts")
	rc.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd != hosts {
			rest.Set(fd, v)
		}
		return true
	})
	if err := validateProto("route config", rc.GetName(), rest.Interface().(validator)); err != nil {
		return err
	}
	for _, v := range rc.GetVirtualHosts() {
		if !vhosts.isValid(v) {
			if err := validateProto("virtual host", v.GetName(), v); err != nil {
				return fmt.Errorf("route config %q: %w", rc.GetName(), err)
			}
		}
	}
	return validateDomains(rc)
}
