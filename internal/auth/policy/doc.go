// Package policy is the IAM policy room of internal/auth: it parses the IAM
// policy JSON that App Mesh users already have and evaluates it the way IAM
// evaluates identity-based policies (explicit Deny beats Allow, default deny).
//
// It is pure: no I/O, no clock, no package-level mutable state. Parse turns a
// document into an immutable *Policy (safe to share between goroutines) and
// Evaluate decides one Request against a principal's policies.
//
// The package also holds the data the authorization middleware needs to
// build a Request: the ARN forms of every App Mesh and Cloud Map resource
// kind (arn.go, reusing internal/apis/appmesh) and the table mapping every
// App Mesh and servicediscovery operation to its IAM action and the resource
// it targets (actions.go), after AWS's Service Authorization Reference.
//
// Supported language: see docs/policies.md.
package policy
