// Package registryapi is the HTTP face of the service registry: the AWS
// Cloud Map (servicediscovery, awsJson1_1) protocol, so the official SDKs
// and the aws CLI drive it. Requests are POST / with
// X-Amz-Target: Route53AutoNaming_v20170314.<Operation>. All 30 operations
// of the service model are served, with Cloud Map's validation and error
// codes; the meaning of namespaces, services and instances lives in
// internal/registry. Operations take effect at once: their ids describe
// themselves, and the API keeps a bounded in-memory log of the last ones
// for ListOperations (metrics in Collectors). docs/cloud-map.md lists how
// the API differs from AWS.
package registryapi
