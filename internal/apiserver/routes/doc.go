// Package routes is the one table of the operations the server's API port
// answers: App Mesh's 38 REST routes (operation name, HTTP method, URI
// pattern, resource kind, verb), as the AWS SDK's serializers send them,
// and the names of Cloud Map's 30 X-Amz-Target operations.
//
// It belongs to the apiserver room (the API's routes). Every part that
// names an operation reads it: the App Mesh API registers its handlers and
// labels its metrics with it, the Cloud Map API labels its metrics with it,
// and the authorization middleware (internal/auth) classifies requests
// with it. It imports only internal/apis/appmesh, so auth can use it
// without depending on the manager or the store.
package routes
