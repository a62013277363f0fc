package reconcile

import (
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/irgen"
	"github.com/trellis-mesh/trellis/internal/xdsgen"
)

// A proxy is translated in parts (irgen.Cache): its own part, and an
// outbound part shared by every proxy with the same backends. xdsgen runs
// once per distinct part, identified by the fingerprint of its IR: the
// translations table holds each translation for as long as some proxy's
// published configuration uses it, so proxies with equal parts share the
// same Envoy resource objects (which the xDS server then marshals once),
// and a proxy connecting to a mesh whose other clients are configured
// already costs no xdsgen at all.

// fingerprint identifies a part by its IR.
type fingerprint = [sha256.Size]byte

// translation is one part's Envoy resources, computed at most once.
type translation struct {
	fp   fingerprint
	once sync.Once
	part *ir.Proxy // the IR it was made of (immutable)
	res  *xdsgen.Resources
	err  error
	// users counts the proxies whose published parts include it; the
	// table's mutex guards it.
	users int
}

// translations is the table of translations in use, by fingerprint.
// Owner: the Reconciler. Bound: the distinct parts of connected proxies
// (an entry leaves with its last user, sweep). Invalidation: none, entries
// are keyed by the fingerprint of their IR. It owns the xdsgen memo its
// translations share (gen; bounded by xdsgen).
type translations struct {
	gen *xdsgen.Memo
	mu  sync.Mutex
	m   map[fingerprint]*translation
}

func newTranslations() *translations {
	return &translations{gen: xdsgen.NewMemo(), m: map[fingerprint]*translation{}}
}

// get returns the translation of a part, translating it if no proxy uses
// one of that fingerprint. A new translation starts from prev (the
// translation the part replaces, if any): resources whose IR did not change
// keep their objects and are not built or validated again, so a route edit
// brings one new route configuration object, not new objects for every
// cluster and listener beside it, and the xDS server keeps what it learnt
// from them. The entry stays in the table until sweep finds it unused.
func (ts *translations) get(fp fingerprint, part *ir.Proxy, prev *translation) (*translation, error) {
	ts.mu.Lock()
	t := ts.m[fp]
	if t == nil {
		t = &translation{fp: fp}
		ts.m[fp] = t
	}
	ts.mu.Unlock()
	t.once.Do(func() {
		t.part = part
		if prev != nil && prev.err == nil {
			t.res, t.err = ts.gen.TranslateFrom(part, prev.part, prev.res)
		} else {
			t.res, t.err = ts.gen.Translate(part)
		}
	})
	return t, t.err
}

// publish moves a proxy's use from its old parts to its new ones.
func (ts *translations) publish(old, next []*translation) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range next {
		t.users++
	}
	for _, t := range old {
		t.users--
	}
}

// sweep drops the given translations that no proxy uses: those a rebuild
// made for proxies that then failed to publish, or that proxies left.
func (ts *translations) sweep(fps []fingerprint) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, fp := range fps {
		if t := ts.m[fp]; t != nil && t.users <= 0 {
			delete(ts.m, fp)
		}
	}
}

// size is the number of translations in the table.
func (ts *translations) size() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.m)
}

// memo is one rebuild's shared work: the irgen cache over its snapshot,
// the fingerprints of shared IR parts (by pointer: irgen hands the same
// pointer to every proxy sharing a part), and the fingerprints it looked
// up, for the sweep at its end.
type memo struct {
	cache *irgen.Cache
	table *translations

	mu      sync.Mutex
	fps     map[*ir.Proxy]*onceFingerprint
	merged  map[mergeKey]*merged
	touched []fingerprint
}

type onceFingerprint struct {
	once sync.Once
	fp   fingerprint
	err  error
}

func newMemo(cache *irgen.Cache, table *translations) *memo {
	return &memo{cache: cache, table: table, fps: map[*ir.Proxy]*onceFingerprint{}, merged: map[mergeKey]*merged{}}
}

// fingerprints hashes a proxy's parts and combines them into one
// fingerprint of the whole proxy. A part that is the very object of the
// proxy's previous translation (irgen hands over parts whose inputs did not
// change) keeps that translation's fingerprint without hashing.
func (m *memo) fingerprints(parts []*ir.Proxy, prev []*translation) (fingerprint, []fingerprint, error) {
	fps := make([]fingerprint, len(parts))
	h := sha256.New()
	for i, part := range parts {
		var fp fingerprint
		if i < len(prev) && prev[i].part == part {
			fp = prev[i].fp
		} else {
			var err error
			if fp, err = m.fingerprint(part, i > 0); err != nil {
				return fingerprint{}, nil, err
			}
		}
		h.Write(fp[:])
		fps[i] = fp
	}
	var all fingerprint
	h.Sum(all[:0])
	return all, fps, nil
}

// fingerprint hashes a part's IR without its id; shared parts are hashed
// once per rebuild.
func (m *memo) fingerprint(part *ir.Proxy, shared bool) (fingerprint, error) {
	if !shared {
		return hashIR(part)
	}
	m.mu.Lock()
	o := m.fps[part]
	if o == nil {
		o = &onceFingerprint{}
		m.fps[part] = o
	}
	m.mu.Unlock()
	o.once.Do(func() { o.fp, o.err = hashIR(part) })
	return o.fp, o.err
}

// translate returns the translations of a proxy's parts; prev are the
// translations of its parts last published.
func (m *memo) translate(parts []*ir.Proxy, fps []fingerprint, prev []*translation) ([]*translation, error) {
	out := make([]*translation, len(parts))
	for i, part := range parts {
		m.mu.Lock()
		m.touched = append(m.touched, fps[i])
		m.mu.Unlock()
		var before *translation
		if len(prev) == len(parts) {
			before = prev[i]
		}
		t, err := m.table.get(fps[i], part, before)
		if err != nil {
			return nil, fmt.Errorf("xdsgen: %w", err)
		}
		out[i] = t
	}
	return out, nil
}

// done sweeps what the rebuild translated and nobody uses.
func (m *memo) done() { m.table.sweep(m.touched) }

// hashIR hashes a proxy's IR without its id.
func hashIR(irp *ir.Proxy) (fingerprint, error) {
	c := *irp
	c.ID = ""
	fp, err := ir.Digest(&c)
	if err != nil {
		return fingerprint{}, fmt.Errorf("fingerprint IR: %w", err)
	}
	return fp, nil
}

// merged is a proxy's resource set as the xDS server takes it.
type merged struct {
	once   sync.Once
	byType map[string][]types.Resource
	err    error
}

// mergeKey names a combination of translations (at most two parts).
type mergeKey [2]*translation

// resources joins the resources of a proxy's parts, once per rebuild for
// each combination of translations: proxies with the same parts (clients
// without listeners of the same services) share one resource set, which
// the xDS server only reads.
func (m *memo) resources(parts []*translation) (map[string][]types.Resource, error) {
	if len(parts) > len(mergeKey{}) {
		res, err := mergeParts(parts)
		if err != nil {
			return nil, err
		}
		return res.ByType(), nil
	}
	var k mergeKey
	copy(k[:], parts)
	m.mu.Lock()
	mg := m.merged[k]
	if mg == nil {
		mg = &merged{}
		m.merged[k] = mg
	}
	m.mu.Unlock()
	mg.once.Do(func() {
		res, err := mergeParts(parts)
		if err != nil {
			mg.err = err
			return
		}
		mg.byType = res.ByType()
	})
	return mg.byType, mg.err
}

// mergeParts joins the resources of a proxy's parts.
func mergeParts(parts []*translation) (*xdsgen.Resources, error) {
	if len(parts) == 1 {
		return parts[0].res, nil
	}
	rs := make([]*xdsgen.Resources, len(parts))
	for i, p := range parts {
		rs[i] = p.res
	}
	res, err := xdsgen.Merge(rs...)
	if err != nil {
		return nil, fmt.Errorf("xdsgen: %w", err)
	}
	return res, nil
}

// fingerprintsOf lists the fingerprints of translations.
func fingerprintsOf(ts []*translation) []fingerprint {
	out := make([]fingerprint, len(ts))
	for i, t := range ts {
		out[i] = t.fp
	}
	return out
}
