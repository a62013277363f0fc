package registry

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/trellis-mesh/trellis/internal/store"
)

// maxRetries bounds optimistic-concurrency retries of one write.
const maxRetries = 10

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns prefix followed by 16 random lowercase alphanumerics, the
// shape of Cloud Map ids (ns-…, srv-…).
func newID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + string(b)
}

func (r *Registry) get(ctx context.Context, key string, v any) (int64, error) {
	kv, err := r.st.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	return kv.ModRevision, json.Unmarshal(kv.Value, v)
}

func list[T any](ctx context.Context, st store.Store, prefix string) ([]T, int64, error) {
	kvs, rev, err := st.List(ctx, prefix, store.ListOptions{})
	if err != nil {
		return nil, 0, err
	}
	out := make([]T, 0, len(kvs))
	for _, kv := range kvs {
		var v T
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return nil, 0, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, v)
	}
	return out, rev, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return b
}

// CreateNamespace creates a namespace. A repeated request with the same
// CreatorRequestID and name returns the existing namespace; the same
// CreatorRequestID for another name is ErrDuplicateRequest; another
// request for an existing name is ErrNamespaceExists.
func (r *Registry) CreateNamespace(ctx context.Context, n Namespace) (Namespace, error) {
	if n.Name == "" {
		return Namespace{}, fmt.Errorf("%w: namespace name is required", ErrInvalidInput)
	}
	existing, _, err := list[Namespace](ctx, r.st, nsPrefix)
	if err != nil {
		return Namespace{}, err
	}
	for _, e := range existing {
		if n.CreatorRequestID != "" && e.CreatorRequestID == n.CreatorRequestID {
			if e.Name == n.Name && e.Type == n.Type {
				return e, nil
			}
			return Namespace{}, fmt.Errorf("%w: creator request id %q was used for namespace %s", ErrDuplicateRequest, n.CreatorRequestID, e.ID)
		}
		if e.Name == n.Name {
			return Namespace{}, fmt.Errorf("%w: %s (%s)", ErrNamespaceExists, n.Name, e.ID)
		}
	}
	n.ID, n.CreateDate = newID("ns-"), r.now().UTC()
	_, err = r.st.Txn(ctx, []store.Compare{store.KeyAbsent(nsNameKey(n.Name))},
		[]store.Op{store.Put(nsKey(n.ID), mustJSON(n)), store.Put(nsNameKey(n.Name), []byte(n.ID))})
	if errors.Is(err, store.ErrConflict) {
		return Namespace{}, fmt.Errorf("%w: %s", ErrNamespaceExists, n.Name)
	}
	return n, err
}

// GetNamespace returns a namespace by id.
func (r *Registry) GetNamespace(ctx context.Context, id string) (Namespace, error) {
	var n Namespace
	_, err := r.get(ctx, nsKey(id), &n)
	if errors.Is(err, store.ErrNotFound) {
		return n, fmt.Errorf("%w: %s", ErrNamespaceNotFound, id)
	}
	return n, err
}

// ListNamespaces returns every namespace, sorted by id.
func (r *Registry) ListNamespaces(ctx context.Context) ([]Namespace, error) {
	ns, _, err := list[Namespace](ctx, r.st, nsPrefix)
	return ns, err
}

// CountServices returns how many services a namespace holds.
func (r *Registry) CountServices(ctx context.Context, nsID string) (int, error) {
	n, err := r.st.Count(ctx, svcNamesPrefix(nsID))
	return int(n), err
}

// CountInstances returns how many instances a service holds.
func (r *Registry) CountInstances(ctx context.Context, svcID string) (int, error) {
	n, err := r.st.Count(ctx, instsPrefix(svcID))
	return int(n), err
}

// DeleteNamespace deletes an empty namespace (ErrResourceInUse otherwise).
func (r *Registry) DeleteNamespace(ctx context.Context, id string) (Namespace, error) {
	for range maxRetries {
		var n Namespace
		rev, err := r.get(ctx, nsKey(id), &n)
		if errors.Is(err, store.ErrNotFound) {
			return n, fmt.Errorf("%w: %s", ErrNamespaceNotFound, id)
		} else if err != nil {
			return n, err
		}
		kvs, lrev, err := r.st.List(ctx, svcNamesPrefix(id), store.ListOptions{Limit: 1})
		if err != nil {
			return n, err
		}
		if len(kvs) > 0 {
			return n, fmt.Errorf("%w: namespace %s has services", ErrResourceInUse, id)
		}
		_, err = r.st.Txn(ctx, []store.Compare{store.KeyAt(nsKey(id), rev), store.PrefixUnchangedSince(svcNamesPrefix(id), lrev)},
			[]store.Op{store.Del(nsKey(id)), store.Del(nsNameKey(n.Name))})
		if !errors.Is(err, store.ErrConflict) {
			return n, err
		}
	}
	return Namespace{}, fmt.Errorf("delete namespace %s: too much contention", id)
}

// CreateService creates a service in an existing namespace. Same
// idempotency rules as CreateNamespace.
func (r *Registry) CreateService(ctx context.Context, s Service) (Service, error) {
	if s.Name == "" || s.NamespaceID == "" {
		return Service{}, fmt.Errorf("%w: service name and namespace id are required", ErrInvalidInput)
	}
	var n Namespace
	nrev, err := r.get(ctx, nsKey(s.NamespaceID), &n)
	if errors.Is(err, store.ErrNotFound) {
		return Service{}, fmt.Errorf("%w: %s", ErrNamespaceNotFound, s.NamespaceID)
	} else if err != nil {
		return Service{}, err
	}
	if kv, err := r.st.Get(ctx, svcNameKey(s.NamespaceID, s.Name)); err == nil {
		existing, err := r.GetService(ctx, string(kv.Value))
		if err == nil && s.CreatorRequestID != "" && existing.CreatorRequestID == s.CreatorRequestID {
			return existing, nil
		}
		return Service{}, fmt.Errorf("%w: %s in %s (%s)", ErrServiceExists, s.Name, s.NamespaceID, kv.Value)
	}
	s.ID, s.CreateDate = newID("srv-"), r.now().UTC()
	_, err = r.st.Txn(ctx, []store.Compare{store.KeyAt(nsKey(n.ID), nrev), store.KeyAbsent(svcNameKey(s.NamespaceID, s.Name))},
		[]store.Op{store.Put(svcKey(s.ID), mustJSON(s)), store.Put(svcNameKey(s.NamespaceID, s.Name), []byte(s.ID))})
	if errors.Is(err, store.ErrConflict) {
		return Service{}, fmt.Errorf("%w: %s (namespace changed concurrently)", ErrServiceExists, s.Name)
	}
	return s, err
}

// GetService returns a service by id.
func (r *Registry) GetService(ctx context.Context, id string) (Service, error) {
	var s Service
	_, err := r.get(ctx, svcKey(id), &s)
	if errors.Is(err, store.ErrNotFound) {
		return s, fmt.Errorf("%w: %s", ErrServiceNotFound, id)
	}
	return s, err
}

// ListServices returns the services of a namespace ("" for all).
func (r *Registry) ListServices(ctx context.Context, nsID string) ([]Service, error) {
	all, _, err := list[Service](ctx, r.st, svcPrefix)
	if err != nil || nsID == "" {
		return all, err
	}
	return slices.DeleteFunc(all, func(s Service) bool { return s.NamespaceID != nsID }), nil
}

// DeleteService deletes a service without instances (ErrResourceInUse
// otherwise).
func (r *Registry) DeleteService(ctx context.Context, id string) error {
	for range maxRetries {
		var s Service
		rev, err := r.get(ctx, svcKey(id), &s)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %s", ErrServiceNotFound, id)
		} else if err != nil {
			return err
		}
		kvs, lrev, err := r.st.List(ctx, instsPrefix(id), store.ListOptions{Limit: 1})
		if err != nil {
			return err
		}
		if len(kvs) > 0 {
			return fmt.Errorf("%w: service %s has instances", ErrResourceInUse, id)
		}
		_, err = r.st.Txn(ctx, []store.Compare{store.KeyAt(svcKey(id), rev), store.PrefixUnchangedSince(instsPrefix(id), lrev)},
			[]store.Op{store.Del(svcKey(id)), store.Del(svcNameKey(s.NamespaceID, s.Name))})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("delete service %s: too much contention", id)
}

// RegisterInstance creates or replaces an instance. With AttrTTL it is a
// leased instance and the call is its heartbeat; without, it stays until
// DeregisterInstance (Cloud Map's semantics). A new instance starts with the health in
// AWS_INIT_HEALTH_STATUS (HEALTHY by default); a re-registration keeps the
// current health.
func (r *Registry) RegisterInstance(ctx context.Context, svcID, instID string, attrs map[string]string, creatorRequestID string) (Instance, error) {
	if instID == "" {
		return Instance{}, fmt.Errorf("%w: instance id is required", ErrInvalidInput)
	}
	init := Healthy
	if v, ok := attrs[AttrInitHealth]; ok {
		if v != Healthy && v != Unhealthy {
			return Instance{}, fmt.Errorf("%w: %s must be HEALTHY or UNHEALTHY", ErrInvalidInput, AttrInitHealth)
		}
		init = v
	}
	ttl, err := leaseTTL(attrs, r.ttl)
	if err != nil {
		return Instance{}, err
	}
	for range maxRetries {
		var s Service
		srev, err := r.get(ctx, svcKey(svcID), &s)
		if errors.Is(err, store.ErrNotFound) {
			return Instance{}, fmt.Errorf("%w: %s", ErrServiceNotFound, svcID)
		} else if err != nil {
			return Instance{}, err
		}
		in := Instance{ServiceID: svcID, ID: instID, Attributes: maps.Clone(attrs), CreatorRequestID: creatorRequestID,
			Health: init, LastHeartbeat: r.now().UTC(), TTL: ttl}
		var old Instance
		irev, err := r.get(ctx, instKey(svcID, instID), &old)
		if err == nil {
			in.Health = old.Health
		} else if !errors.Is(err, store.ErrNotFound) {
			return Instance{}, err
		}
		_, err = r.st.Txn(ctx, []store.Compare{store.KeyAt(svcKey(svcID), srev), store.KeyAt(instKey(svcID, instID), irev)},
			[]store.Op{store.Put(instKey(svcID, instID), mustJSON(in))})
		if !errors.Is(err, store.ErrConflict) {
			return in, err
		}
	}
	return Instance{}, fmt.Errorf("register instance %s: too much contention", instID)
}

// DeregisterInstance deletes an instance.
func (r *Registry) DeregisterInstance(ctx context.Context, svcID, instID string) error {
	if _, err := r.GetService(ctx, svcID); err != nil {
		return err
	}
	if _, err := r.GetInstance(ctx, svcID, instID); err != nil {
		return err
	}
	_, err := r.st.Txn(ctx, nil, []store.Op{store.Del(instKey(svcID, instID))})
	return err
}

// GetInstance returns one instance.
func (r *Registry) GetInstance(ctx context.Context, svcID, instID string) (Instance, error) {
	var in Instance
	_, err := r.get(ctx, instKey(svcID, instID), &in)
	if errors.Is(err, store.ErrNotFound) {
		if _, serr := r.GetService(ctx, svcID); serr != nil {
			return in, serr
		}
		return in, fmt.Errorf("%w: %s in %s", ErrInstanceNotFound, instID, svcID)
	}
	return in, err
}

// ListInstances returns the instances of a service, sorted by id.
func (r *Registry) ListInstances(ctx context.Context, svcID string) ([]Instance, error) {
	if _, err := r.GetService(ctx, svcID); err != nil {
		return nil, err
	}
	ins, _, err := list[Instance](ctx, r.st, instsPrefix(svcID))
	return ins, err
}

// SetHealth sets an instance's custom health status; it also counts as a
// heartbeat.
func (r *Registry) SetHealth(ctx context.Context, svcID, instID, status string) error {
	if status != Healthy && status != Unhealthy {
		return fmt.Errorf("%w: status must be HEALTHY or UNHEALTHY", ErrInvalidInput)
	}
	for range maxRetries {
		var in Instance
		rev, err := r.get(ctx, instKey(svcID, instID), &in)
		if errors.Is(err, store.ErrNotFound) {
			_, err = r.GetInstance(ctx, svcID, instID)
			return err
		} else if err != nil {
			return err
		}
		in.Health, in.LastHeartbeat = status, r.now().UTC()
		_, err = r.st.Txn(ctx, []store.Compare{store.KeyAt(instKey(svcID, instID), rev)},
			[]store.Op{store.Put(instKey(svcID, instID), mustJSON(in))})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("update health of %s: too much contention", instID)
}

// Discover returns the instances of namespace/service (by name) whose
// attributes include every pair of query, read from the store.
func (r *Registry) Discover(ctx context.Context, namespace, service string, query map[string]string) ([]Instance, error) {
	kv, err := r.st.Get(ctx, nsNameKey(namespace))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNamespaceNotFound, namespace)
	} else if err != nil {
		return nil, err
	}
	skv, err := r.st.Get(ctx, svcNameKey(string(kv.Value), service))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s in %s", ErrServiceNotFound, service, namespace)
	} else if err != nil {
		return nil, err
	}
	ins, _, err := list[Instance](ctx, r.st, instsPrefix(string(skv.Value)))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ins, func(in Instance) bool { return !matches(in.Attributes, query) }), nil
}
