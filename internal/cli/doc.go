// Package cli holds the trellis CLI verbs (apply, get, delete, export).
//
// The CLI is a network client of the public App Mesh REST API like any other
// user: it never imports the store, the manager or the xDS pipeline. It
// speaks the App Mesh wire format (restJson1 under /v20190125/) with plain
// net/http, and reuses only the wire types of internal/apis/appmesh to
// decode and normalise documents.
//
// The one exception is `trellis audit` (audit.go), which reads the server's
// audit log files from a local directory through internal/auth/audit.
package cli
