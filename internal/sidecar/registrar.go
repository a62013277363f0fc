package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	amtypes "github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
)

// Registration defaults.
const (
	DefaultHeartbeatInterval = 10 * time.Second
	DefaultRegion            = "us-east-1"
	// registryCallTimeout bounds one heartbeat (describe, look-ups,
	// RegisterInstance) and one DeregisterInstance.
	registryCallTimeout = 3 * time.Second
)

// Instance attributes the registrar sets besides the node's own filter.
const (
	AttrIPv4        = "AWS_INSTANCE_IPV4"
	AttrPort        = "AWS_INSTANCE_PORT"
	AttrVirtualNode = "trellis.io/virtualNode"
	// AttrTTL asks the registry for a lease (whole seconds): the instance
	// expires unless a heartbeat re-registers it within that time. The
	// registrar asks for three heartbeat intervals. Instances registered
	// without it (the aws CLI, SDKs) live until deregistered, as in Cloud
	// Map. The server caps the lease (30 s by default).
	AttrTTL = "trellis.io/ttl"
)

// leaseSeconds is the lease the registrar asks for: three heartbeats,
// rounded up to whole seconds.
func leaseSeconds(heartbeat time.Duration) string {
	return strconv.Itoa(int((3*heartbeat + time.Second - 1) / time.Second))
}

// RegistryOptions configure service registration over the server's API.
type RegistryOptions struct {
	// APIEndpoint is the server's API URL (http://host:port); empty
	// disables registration.
	APIEndpoint string
	// InstanceIP is the address registered; empty means the ingress
	// address when it is a specific one, else the host's first
	// non-loopback IPv4.
	InstanceIP string
	// InstanceID is the Cloud Map instance id; empty means hostname-pid.
	InstanceID string
	// HeartbeatInterval is how often the instance re-registers (default
	// 10 s).
	HeartbeatInterval time.Duration
	// Region is sent to the API (default us-east-1); credentials are
	// static placeholders, Trellis does not check them.
	Region string
}

// newRegistrar picks the Registrar Run uses: cfg.Registrar when set, else
// a Cloud Map registrar when an API endpoint is configured and the proxy
// is a virtual node, else NopRegistrar.
func newRegistrar(cfg *Config, log *slog.Logger) Registrar {
	if cfg.Registrar != nil {
		return cfg.Registrar
	}
	if cfg.Registry.APIEndpoint == "" {
		log.Info("service registration disabled: no --api-endpoint (TRELLIS_API_ENDPOINT)")
		return NopRegistrar{}
	}
	if cfg.Identity.IsGateway() {
		log.Info("service registration skipped: virtual gateways are not registered")
		return NopRegistrar{}
	}
	return NewCloudMapRegistrar(cfg.Registry, cfg.Proxy.IngressAddress, log)
}

// CloudMapRegistrar registers a virtual node's instance in the Trellis
// registry (the Cloud Map API) when the node is discovered through
// awsCloudMap, re-registers it every HeartbeatInterval, and deregisters it
// on the way out. Its failures are logged and retried at the next
// heartbeat; they never stop the sidecar.
type CloudMapRegistrar struct {
	opts  RegistryOptions
	log   *slog.Logger
	appm  *appmesh.Client
	sd    *sd.Client
	ipErr error
	mu    sync.Mutex
	stop  chan struct{} // closed by Deregister
	done  chan struct{} // closed when the heartbeat loop returns
	svcID string        // service the instance was last registered in
}

// NewCloudMapRegistrar builds a registrar for the API at
// opts.APIEndpoint; ingressAddr is the sidecar's ingress bind address,
// the default instance IP when it is a specific one.
func NewCloudMapRegistrar(opts RegistryOptions, ingressAddr string, log *slog.Logger) *CloudMapRegistrar {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.InstanceID == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "sidecar"
		}
		opts.InstanceID = host + "-" + strconv.Itoa(os.Getpid())
	}
	r := &CloudMapRegistrar{opts: opts, log: log.With("registry", opts.APIEndpoint)}
	if r.opts.InstanceIP == "" {
		r.opts.InstanceIP, r.ipErr = defaultInstanceIP(ingressAddr)
	}
	// Sign with the aws-style credentials of the environment when there
	// are any (a server with --auth needs them), else with a placeholder
	// key that a server without auth ignores.
	var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider("trellis", "trellis", "")
	if c, err := awscreds.Resolve(os.Getenv); err == nil {
		creds = awscreds.Provider{Creds: c}
	}
	endpoint := aws.String(strings.TrimRight(opts.APIEndpoint, "/"))
	r.appm = appmesh.New(appmesh.Options{Region: opts.Region, BaseEndpoint: endpoint, Credentials: creds})
	r.sd = sd.New(sd.Options{Region: opts.Region, BaseEndpoint: endpoint, Credentials: creds,
		APIOptions: []func(*middleware.Stack) error{noHostPrefix}})
	return r
}

// Options returns the resolved options (instance id and IP filled in).
func (r *CloudMapRegistrar) Options() RegistryOptions { return r.opts }

// Register registers the instance once and starts the heartbeats, which
// run until Deregister or until ctx ends. A failed first attempt is
// returned (the sidecar logs it) and retried by the heartbeats.
func (r *CloudMapRegistrar) Register(ctx context.Context, id Identity) error {
	r.mu.Lock()
	if r.stop != nil {
		r.mu.Unlock()
		return errors.New("registrar: Register called twice")
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	stop, done := r.stop, r.done
	r.mu.Unlock()

	err := r.heartbeat(ctx, id)
	go func() {
		defer close(done)
		t := time.NewTicker(r.opts.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := r.heartbeat(context.Background(), id); err != nil {
				r.log.Warn("registration heartbeat failed; retrying", "err", err, "in", r.opts.HeartbeatInterval)
			}
		}
	}()
	return err
}

// heartbeat reads the virtual node and (re-)registers the instance in its
// Cloud Map service; a node not using awsCloudMap registers nothing.
func (r *CloudMapRegistrar) heartbeat(ctx context.Context, id Identity) error {
	ctx, cancel := context.WithTimeout(ctx, registryCallTimeout)
	defer cancel()
	if r.ipErr != nil {
		return fmt.Errorf("instance IP: %w (set --instance-ip)", r.ipErr)
	}
	mesh, owner, _ := strings.Cut(id.Mesh, "@")
	in := &appmesh.DescribeVirtualNodeInput{MeshName: aws.String(mesh), VirtualNodeName: aws.String(id.Name)}
	if owner != "" {
		in.MeshOwner = aws.String(owner)
	}
	out, err := r.appm.DescribeVirtualNode(ctx, in)
	if err != nil {
		return fmt.Errorf("describe virtual node %s/%s: %w", id.Mesh, id.Name, err)
	}
	spec := out.VirtualNode.Spec
	cm, ok := cloudMapOf(spec)
	if !ok {
		if r.current() != "" { // discovery changed away from Cloud Map
			return r.deregisterFrom(ctx, r.current())
		}
		r.log.Debug("virtual node does not use awsCloudMap; nothing to register", "node", id.Name)
		return nil
	}
	port, err := firstListenerPort(spec)
	if err != nil {
		return err
	}
	svcID, err := r.serviceID(ctx, aws.ToString(cm.NamespaceName), aws.ToString(cm.ServiceName))
	if err != nil {
		return err
	}
	attrs := map[string]string{}
	for _, a := range cm.Attributes {
		attrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	attrs[AttrIPv4] = r.opts.InstanceIP
	attrs[AttrPort] = strconv.Itoa(int(port))
	attrs[AttrVirtualNode] = id.Name
	attrs[AttrTTL] = leaseSeconds(r.opts.HeartbeatInterval)
	if old := r.current(); old != "" && old != svcID {
		if err := r.deregisterFrom(ctx, old); err != nil {
			r.log.Warn("deregister from previous service", "service", old, "err", err)
		}
	}
	if _, err := r.sd.RegisterInstance(ctx, &sd.RegisterInstanceInput{
		ServiceId: aws.String(svcID), InstanceId: aws.String(r.opts.InstanceID), Attributes: attrs,
	}); err != nil {
		return fmt.Errorf("register instance %s in %s/%s: %w", r.opts.InstanceID,
			aws.ToString(cm.NamespaceName), aws.ToString(cm.ServiceName), err)
	}
	r.mu.Lock()
	first := r.svcID != svcID
	r.svcID = svcID
	r.mu.Unlock()
	if first {
		r.log.Info("registered instance", "instance", r.opts.InstanceID, "ip", r.opts.InstanceIP, "port", port,
			"namespace", aws.ToString(cm.NamespaceName), "service", aws.ToString(cm.ServiceName),
			"heartbeat", r.opts.HeartbeatInterval)
	}
	return nil
}

func (r *CloudMapRegistrar) current() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.svcID
}

// Deregister stops the heartbeats, then deregisters the instance (at most
// registryCallTimeout, and within ctx).
func (r *CloudMapRegistrar) Deregister(ctx context.Context, _ Identity) error {
	r.mu.Lock()
	stop, done := r.stop, r.done
	if stop != nil {
		select {
		case <-stop:
		default:
			close(stop)
		}
	}
	r.mu.Unlock()
	if done != nil {
		// Let an in-flight heartbeat finish, so it cannot re-register
		// after the deregistration.
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	svc := r.current()
	if svc == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, registryCallTimeout)
	defer cancel()
	start := time.Now()
	if err := r.deregisterFrom(ctx, svc); err != nil {
		return err
	}
	r.log.Info("deregistered instance", "instance", r.opts.InstanceID, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (r *CloudMapRegistrar) deregisterFrom(ctx context.Context, svcID string) error {
	if _, err := r.sd.DeregisterInstance(ctx, &sd.DeregisterInstanceInput{
		ServiceId: aws.String(svcID), InstanceId: aws.String(r.opts.InstanceID),
	}); err != nil {
		return fmt.Errorf("deregister instance %s: %w", r.opts.InstanceID, err)
	}
	r.mu.Lock()
	if r.svcID == svcID {
		r.svcID = ""
	}
	r.mu.Unlock()
	return nil
}

// serviceID finds the Cloud Map service id by namespace and service name.
func (r *CloudMapRegistrar) serviceID(ctx context.Context, namespace, service string) (string, error) {
	var nsID string
	nsPages := sd.NewListNamespacesPaginator(r.sd, &sd.ListNamespacesInput{})
	for nsID == "" && nsPages.HasMorePages() {
		page, err := nsPages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list namespaces: %w", err)
		}
		for _, ns := range page.Namespaces {
			if aws.ToString(ns.Name) == namespace {
				nsID = aws.ToString(ns.Id)
				break
			}
		}
	}
	if nsID == "" {
		return "", fmt.Errorf("namespace %q not found", namespace)
	}
	svcPages := sd.NewListServicesPaginator(r.sd, &sd.ListServicesInput{Filters: []sdtypes.ServiceFilter{{
		Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{nsID}, Condition: sdtypes.FilterConditionEq,
	}}})
	for svcPages.HasMorePages() {
		page, err := svcPages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list services of %s: %w", namespace, err)
		}
		for _, s := range page.Services {
			if aws.ToString(s.Name) == service {
				return aws.ToString(s.Id), nil
			}
		}
	}
	return "", fmt.Errorf("service %q not found in namespace %q", service, namespace)
}

func cloudMapOf(spec *amtypes.VirtualNodeSpec) (amtypes.AwsCloudMapServiceDiscovery, bool) {
	if spec == nil {
		return amtypes.AwsCloudMapServiceDiscovery{}, false
	}
	m, ok := spec.ServiceDiscovery.(*amtypes.ServiceDiscoveryMemberAwsCloudMap)
	if !ok {
		return amtypes.AwsCloudMapServiceDiscovery{}, false
	}
	return m.Value, true
}

func firstListenerPort(spec *amtypes.VirtualNodeSpec) (int32, error) {
	if len(spec.Listeners) == 0 || spec.Listeners[0].PortMapping == nil || spec.Listeners[0].PortMapping.Port == nil {
		return 0, errors.New("virtual node has no listener port to register")
	}
	return *spec.Listeners[0].PortMapping.Port, nil
}

// defaultInstanceIP is the ingress address when it names one interface,
// else the host's first non-loopback IPv4.
func defaultInstanceIP(ingress string) (string, error) {
	if a, err := netip.ParseAddr(ingress); err == nil && !a.IsUnspecified() {
		return a.String(), nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String(), nil
		}
	}
	return "", errors.New("no non-loopback IPv4 address on this host")
}

// noHostPrefix makes the servicediscovery client send every call to the
// endpoint as given (the SDK prefixes data-plane calls with "data-"). It
// mirrors registryapi.NoHostPrefix, which the sidecar cannot import: that
// package pulls in the server's store.
func noHostPrefix(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("TrellisNoHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
}
