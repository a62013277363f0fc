// Package appmesh holds the App Mesh API (2019-01-25) wire types: the seven
// resource kinds with their specs, metadata and status, tags, and ARN
// formatting. JSON tags match the service model byte for byte; optional
// members are pointers or omitempty so absent stays absent on the way back
// out. Unions (exactly one member) are structs of pointers; the validation
// package enforces the one-member rule.
//
// This package imports only the standard library: every other room may use it.
package appmesh
