// Package apiserver is the room of the App Mesh REST wire: HTTP routing of
// the 38 operations of API version 2019-01-25, strict decoding of request
// bodies, App Mesh error envelopes (X-Amzn-ErrorType plus {"message"}),
// pagination parameters and response shapes the AWS SDKs parse. All
// meaning lives in internal/manager; this package only translates. The
// operations themselves (names, methods, URIs) are the table in the leaf
// subpackage routes, which the authorization middleware shares.
//
// ConnLimiter bounds what clients hold on the API port: header, whole
// request and idle timeouts, and a cap on open connections, each counted
// in a Prometheus metric.
package apiserver
