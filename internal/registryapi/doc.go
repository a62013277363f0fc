// Package registryapi is the HTTP face of the service registry: the AWS
// Cloud Map (servicediscovery, awsJson1_1) protocol, so the official SDKs
// and the aws CLI drive it. Requests are POST / with
// X-Amz-Target: Route53AutoNaming_v20170314.<Operation>.
package registryapi
