package registryapi

import (
	"context"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// NoHostPrefix is an SDK APIOptions entry for servicediscovery clients
// pointed at Trellis (BaseEndpoint): the SDK sends DiscoverInstances to the
// host "data-" + endpoint host (Cloud Map's data plane), which does not
// resolve for an address like 127.0.0.1. With it, every call goes to the
// endpoint as given:
//
//	servicediscovery.New(servicediscovery.Options{BaseEndpoint: …,
//		APIOptions: []func(*middleware.Stack) error{registryapi.NoHostPrefix}})
//
// (Without it, a DNS name data-<host> pointing at the server works too.)
// It is the function docs/cloud-map.md prints for users' programs, which
// cannot import this package.
func NoHostPrefix(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("TrellisNoHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
}
