// Package validation is the validation room: pure shape checks of App Mesh
// specs, resource names and tags. Every check returns violations, each a
// broken rule at a field path such as spec.listeners[0].portMapping.port, so
// the API server can report them all at once in one BadRequestException.
//
// The rules are the constraints of the App Mesh model (required members,
// string lengths, numeric ranges, list sizes, enums, patterns, unions with
// exactly one member) plus the documented rules that hold inside one spec
// (one route type per route, connection pools keyed by the listener
// protocol, weights summing to at most 100, reserved gateway prefixes, ...).
// Rules that need other resources (does the target virtual node exist, does
// match.port name a listener of the router) live in internal/manager.
//
// Validation does no I/O and walks fields in a fixed order, so the same input
// always yields the same violations in the same order.
//
// This package imports only the standard library and internal/apis/appmesh.
package validation
