package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/trellis-mesh/trellis/internal/store"
)

// UpdateNamespace applies change to the namespace with id and stores the
// result, retrying on concurrent writes (change may run more than once and
// must only edit its argument). An error from change is returned as is and
// nothing is written. The id, name and type cannot change.
func (r *Registry) UpdateNamespace(ctx context.Context, id string, change func(*Namespace) error) (Namespace, error) {
	for range maxRetries {
		var n Namespace
		rev, err := r.get(ctx, nsKey(id), &n)
		if errors.Is(err, store.ErrNotFound) {
			return n, fmt.Errorf("%w: %s", ErrNamespaceNotFound, id)
		} else if err != nil {
			return n, err
		}
		upd := n
		if err := change(&upd); err != nil {
			return n, err
		}
		upd.ID, upd.Name, upd.Type, upd.CreateDate = n.ID, n.Name, n.Type, n.CreateDate
		_, err = r.st.Txn(ctx, []store.Compare{store.KeyAt(nsKey(id), rev)}, []store.Op{store.Put(nsKey(id), mustJSON(upd))})
		if !errors.Is(err, store.ErrConflict) {
			return upd, err
		}
	}
	return Namespace{}, fmt.Errorf("update namespace %s: too much contention", id)
}

// UpdateService is UpdateNamespace for services. The id, name and
// namespace cannot change.
func (r *Registry) UpdateService(ctx context.Context, id string, change func(*Service) error) (Service, error) {
	for range maxRetries {
		var s Service
		rev, err := r.get(ctx, svcKey(id), &s)
		if errors.Is(err, store.ErrNotFound) {
			return s, fmt.Errorf("%w: %s", ErrServiceNotFound, id)
		} else if err != nil {
			return s, err
		}
		upd := s
		if err := change(&upd); err != nil {
			return s, err
		}
		upd.ID, upd.Name, upd.NamespaceID, upd.CreateDate = s.ID, s.Name, s.NamespaceID, s.CreateDate
		_, err = r.st.Txn(ctx, []store.Compare{store.KeyAt(svcKey(id), rev)}, []store.Op{store.Put(svcKey(id), mustJSON(upd))})
		if !errors.Is(err, store.ErrConflict) {
			return upd, err
		}
	}
	return Service{}, fmt.Errorf("update service %s: too much contention", id)
}

// InstancesRevision is Cloud Map's InstancesRevision of namespace/service
// (by name): a number that changes when an instance is registered,
// deregistered or has its attributes changed, and not on heartbeats or
// health updates. It is the store revision of the last such change seen
// by the index; it first waits (within ctx) until the index has caught up
// with the store, so a client reads its own writes.
func (r *Registry) InstancesRevision(ctx context.Context, namespace, service string) (int64, error) {
	rev, err := r.st.Revision(ctx)
	if err != nil {
		return 0, err
	}
	if err := r.WaitRevision(ctx, rev); err != nil {
		return 0, err
	}
	r.mu.RLock()
	idx := r.idx
	r.mu.RUnlock()
	nsID, ok := idx.nsByName[namespace]
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrNamespaceNotFound, namespace)
	}
	svcID, ok := idx.svcByKey[[2]string{nsID, service}]
	if !ok {
		return 0, fmt.Errorf("%w: %s in %s", ErrServiceNotFound, service, namespace)
	}
	return idx.svcRev[svcID], nil
}
