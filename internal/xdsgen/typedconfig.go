package xdsgen

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// validateTypedConfigs validates what protoc-gen-validate skips: the
// messages packed in Any fields (every typed_config: HCM, router, tcp_proxy,
// access loggers, TLS contexts, protocol options). ValidateAll treats an
// Any as opaque bytes, so an HCM without stat_prefix would otherwise pass
// here and be NACKed by Envoy. Unpacking also proves every type URL names
// a type this binary links, i.e. one Envoy knows.
func (mm *Memo) validateTypedConfigs(m protoreflect.Message) error {
	var errs []error
	forEachMessage(m, func(child protoreflect.Message) {
		if mm.mayHoldAny(child.Descriptor()) {
			errs = append(errs, mm.validateMessage(child))
		}
	})
	return errors.Join(errs...)
}

// validateMessage unpacks an Any, validates it and descends into it; other
// messages are only descended into. A typed config found valid is
// remembered by type and bytes: the same retry predicate or filter config
// recurs in every route and listener, and is checked once.
func (mm *Memo) validateMessage(m protoreflect.Message) error {
	a, ok := m.Interface().(*anypb.Any)
	if !ok {
		return mm.validateTypedConfigs(m)
	}
	key := validAny{a.GetTypeUrl(), string(a.GetValue())}
	if _, ok := mm.validAnys.Get(key); ok {
		return nil
	}
	if err := mm.validateAny(a); err != nil {
		return err
	}
	mm.validAnys.Add(key, struct{}{})
	return nil
}

// validateAny unpacks an Any and validates what it holds.
func (mm *Memo) validateAny(a *anypb.Any) error {
	inner, err := a.UnmarshalNew()
	if err != nil {
		return fmt.Errorf("typed config %s: %w", a.GetTypeUrl(), err)
	}
	if v, ok := inner.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			return fmt.Errorf("typed config %s: %w", a.GetTypeUrl(), err)
		}
	}
	if err := mm.validateTypedConfigs(inner.ProtoReflect()); err != nil {
		return fmt.Errorf("in %s: %w", a.GetTypeUrl(), err)
	}
	return nil
}

// forEachMessage calls fn for every set message-typed field value of m
// (singular, list elements, map values in key order), not recursively.
func forEachMessage(m protoreflect.Message, fn func(protoreflect.Message)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				forEachMapValue(v.Map(), fn)
			}
		case fd.Message() == nil:
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				fn(v.List().Get(i).Message())
			}
		default:
			fn(v.Message())
		}
		return true
	})
}

// forEachMapValue visits map values in key order so that, with several
// errors, the joined message is the same on every run.
func forEachMapValue(mp protoreflect.Map, fn func(protoreflect.Message)) {
	var keys []protoreflect.MapKey
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return cmp.Compare(a.String(), b.String()) })
	for _, k := range keys {
		fn(mp.Get(k).Message())
	}
}

// validAny names a typed config by type URL and bytes.
type validAny struct{ typeURL, value string }

// mayHoldAny reports whether a message of type md is, or can contain at
// any depth, an Any.
func (mm *Memo) mayHoldAny(md protoreflect.MessageDescriptor) bool {
	if v, ok := mm.anyHolders.Get(md.FullName()); ok {
		return v
	}
	v := holdsAny(md, map[protoreflect.FullName]bool{})
	mm.anyHolders.Add(md.FullName(), v)
	return v
}

// holdsAny searches md's message-typed fields depth first; a type already
// on the path (a recursive type) adds nothing new.
func holdsAny(md protoreflect.MessageDescriptor, onPath map[protoreflect.FullName]bool) bool {
	if md.FullName() == anyName {
		return true
	}
	if onPath[md.FullName()] {
		return false
	}
	onPath[md.FullName()] = true
	defer delete(onPath, md.FullName())
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		child := fd.Message()
		if fd.IsMap() {
			child = fd.MapValue().Message()
		}
		if child != nil && holdsAny(child, onPath) {
			return true
		}
	}
	return false
}

const anyName protoreflect.FullName = "google.protobuf.Any"
