package registry

import (
	"maps"
	"strings"

	"github.com/trellis-mesh/trellis/internal/store"
)

// index is an immutable view of the registry at one revision; follow
// clones it (shallowly, per changed service) before applying events.
type index struct {
	ns       map[string]Namespace         // by id
	nsByName map[string]string            // name → id
	svc      map[string]Service           // by id
	svcByKey map[[2]string]string         // (namespace id, name) → id
	inst     map[string]map[string]*entry // service id → instance id → entry
	// svcRev is each service's InstancesRevision: the store revision of
	// the last registration, deregistration or attribute change of one
	// of its instances (or of the service's creation).
	svcRev map[string]int64
}

// entry is an instance with the revision that last wrote it.
type entry struct {
	Instance
	modRev int64
}

func newIndex() *index {
	return &index{ns: map[string]Namespace{}, nsByName: map[string]string{}, svc: map[string]Service{},
		svcByKey: map[[2]string]string{}, inst: map[string]map[string]*entry{}, svcRev: map[string]int64{}}
}

// clone copies the top-level maps; per-service instance maps are copied on
// write by apply.
func (x *index) clone() *index {
	return &index{ns: maps.Clone(x.ns), nsByName: maps.Clone(x.nsByName), svc: maps.Clone(x.svc),
		svcByKey: maps.Clone(x.svcByKey), inst: maps.Clone(x.inst), svcRev: maps.Clone(x.svcRev)}
}

// apply records one store event. Instance maps are replaced, never
// mutated, so older index values stay valid for concurrent readers.
func (x *index) apply(ev store.Event) error {
	raw := ev.KV.Value
	del := ev.Type == store.EventDelete
	if del {
		raw = ev.PrevValue
	}
	key := ev.KV.Key
	switch {
	case strings.HasPrefix(key, nsPrefix):
		var n Namespace
		if err := decode(raw, &n); err != nil {
			return err
		}
		if del {
			delete(x.ns, n.ID)
			delete(x.nsByName, n.Name)
		} else {
			x.ns[n.ID], x.nsByName[n.Name] = n, n.ID
		}
	case strings.HasPrefix(key, svcPrefix):
		var s Service
		if err := decode(raw, &s); err != nil {
			return err
		}
		if del {
			delete(x.svc, s.ID)
			delete(x.svcByKey, [2]string{s.NamespaceID, s.Name})
			delete(x.svcRev, s.ID)
		} else {
			x.svc[s.ID], x.svcByKey[[2]string{s.NamespaceID, s.Name}] = s, s.ID
			if _, ok := x.svcRev[s.ID]; !ok {
				x.svcRev[s.ID] = ev.KV.ModRevision
			}
		}
	case strings.HasPrefix(key, instPrefix):
		var in Instance
		if err := decode(raw, &in); err != nil {
			return err
		}
		m := maps.Clone(x.inst[in.ServiceID])
		if m == nil {
			m = map[string]*entry{}
		}
		if old, ok := m[in.ID]; del || !ok || !maps.Equal(old.Attributes, in.Attributes) {
			x.svcRev[in.ServiceID] = max(x.svcRev[in.ServiceID], ev.KV.ModRevision)
		}
		if del {
			delete(m, in.ID)
		} else {
			m[in.ID] = &entry{Instance: in, modRev: ev.KV.ModRevision}
		}
		if len(m) == 0 {
			delete(x.inst, in.ServiceID)
		} else {
			x.inst[in.ServiceID] = m
		}
	}
	return nil
}

// changes says which services' endpoints an event (about to be applied)
// may change. A heartbeat that changes neither attributes nor health
// changes nothing.
func (x *index) changes(ev store.Event) []ServiceName {
	key := ev.KV.Key
	raw := ev.KV.Value
	if ev.Type == store.EventDelete {
		raw = ev.PrevValue
	}
	switch {
	case strings.HasPrefix(key, nsPrefix):
		var n Namespace
		if decode(raw, &n) != nil {
			return nil
		}
		var out []ServiceName
		for _, s := range x.svc {
			if s.NamespaceID == n.ID {
				out = append(out, ServiceName{n.Name, s.Name})
			}
		}
		return out
	case strings.HasPrefix(key, svcPrefix):
		var s Service
		if decode(raw, &s) != nil {
			return nil
		}
		if n, ok := x.ns[s.NamespaceID]; ok {
			return []ServiceName{{n.Name, s.Name}}
		}
	case strings.HasPrefix(key, instPrefix):
		var in Instance
		if decode(raw, &in) != nil {
			return nil
		}
		if old, ok := x.inst[in.ServiceID][in.ID]; ok && ev.Type == store.EventPut &&
			old.Health == in.Health && maps.Equal(old.Attributes, in.Attributes) {
			return nil
		}
		return x.nameOf(in.ServiceID)
	}
	return nil
}

func (x *index) nameOf(svcID string) []ServiceName {
	s, ok := x.svc[svcID]
	if !ok {
		return nil
	}
	n, ok := x.ns[s.NamespaceID]
	if !ok {
		return nil
	}
	return []ServiceName{{n.Name, s.Name}}
}

// serviceNames lists every known service.
func (x *index) serviceNames() []ServiceName {
	var out []ServiceName
	for id := range x.svc {
		out = append(out, x.nameOf(id)...)
	}
	return out
}

func (x *index) instancesOf(namespace, service string) map[string]*entry {
	nsID, ok := x.nsByName[namespace]
	if !ok {
		return nil
	}
	return x.inst[x.svcByKey[[2]string{nsID, service}]]
}

func (x *index) allInstances() []*entry {
	var out []*entry
	for _, m := range x.inst {
		for _, e := range m {
			out = append(out, e)
		}
	}
	return out
}
