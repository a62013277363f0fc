// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests,
// exactly as AWS checks it: the Authorization header form and the presigned
// query form, the canonical request (method, double-encoded path, sorted and
// re-encoded query, canonical headers, payload hash), the credential scope
// (date, region, service), and a ±5 minute clock-skew window. It knows
// nothing of where secrets live: the caller parses a request, looks up the
// secret for the access key id (or a derived signing Key it keeps; a Key
// pools its HMAC states, so a verification allocates nothing), then
// verifies. Errors carry the AWS error
// codes SDKs recognise. Stdlib crypto only (crypto/hmac, crypto/sha256).
package sigv4
