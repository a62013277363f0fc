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
func validateTypedConfigs(m protoreflect.Message) error {
	var errs []error
	forEachMessage(m, func(child protoreflect.Message) {
		errs = append(errs, validateMessage(child))
	})
	return errors.Join(errs...)
}

// validateMessage unpacks an Any, validates it and descends into it; other
// messages are only descended into.
func validateMessage(m protoreflect.Message) error {
	a, ok := m.Interface().(*anypb.Any)
	if !ok {
		return validateTypedConfigs(m)
	}
	inner, err := a.UnmarshalNew()
	if err != nil {
		return fmt.Errorf("typed config %s: %w", a.GetTypeUrl(), err)
	}
	if v, ok := inner.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			return fmt.Errorf("typed config %s: %w", a.GetTypeUrl(), err)
		}
	}
	if err := validateTypedConfigs(inner.ProtoReflect()); err != nil {
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
