package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/trellis-mesh/trellis/bench/internal/adsclient"
)

// rdsName is the egress route configuration of a client in the direct
// (interception none) shape: one listener at 127.0.0.1:8080 whose routes
// hold a virtual host per virtual service.
const rdsName = "rds_egress_http_8080"

// The child's lines on stdout, read by the parent (records.go):
//
//	rds <proxy> <weights> <unix ns>   proxy got route 0 with new weights
//	stats <cds> <lds> <rds> <eds> <bytes>   responses received so far
//
// It prints stats when a line "stats" arrives on stdin, and exits when
// stdin closes.

// recorder is the child's bookkeeping, shared by every proxy goroutine.
type recorder struct {
	last   []string // per proxy, the route 0 weights last seen (its own goroutine only)
	counts [4]atomic.Int64
	bytes  atomic.Int64
	out    chan string
}

var countedTypes = [4]string{resourcev3.ClusterType, resourcev3.ListenerType, resourcev3.RouteType, resourcev3.EndpointType}

// runChild is the child process: n simulated client proxies, each
// recording when its route 0 weights change.
func runChild(addr string, n int, delta, reconnect bool, cpuProfile string) error {
	md, err := structpb.NewStruct(map[string]any{"trellis": map[string]any{"interception": "none", "egressAddress": "127.0.0.1"}})
	if err != nil {
		return fmt.Errorf("node metadata: %w", err)
	}
	stopProfile, err := startProfile(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	rec := &recorder{last: make([]string, n), out: make(chan string, 4*n)}
	done, written := make(chan struct{}), make(chan struct{})
	go func() { defer close(written); rec.write(os.Stdout, done) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.commands(os.Stdin, cancel)
	err = adsclient.Run(ctx, adsclient.Config{
		Addr: addr, N: n, NodeID: nodeID, Delta: delta, Metadata: md,
		RouteNames: []string{rdsName}, OnResponse: rec.seen,
		// A proxy that reconnects records the weights it is sent again.
		Reconnect: reconnect, OnReconnect: func(i int) { rec.last[i] = "" },
	})
	close(done) // Run has returned: no proxy records any more
	<-written
	return err
}

// seen counts a response and records new route 0 weights.
func (r *recorder) seen(i int, resp *adsclient.Response) {
	for k, t := range countedTypes {
		if t == resp.TypeURL {
			r.counts[k].Add(1)
		}
	}
	r.bytes.Add(int64(resp.Size))
	if resp.TypeURL != resourcev3.RouteType {
		return
	}
	for _, rc := range resp.Resources {
		if key := weightsOf(rc, updatedSvc); key != "" && key != r.last[i] {
			r.last[i] = key
			r.out <- "rds " + strconv.Itoa(i) + " " + key + " " + strconv.FormatInt(resp.At.UnixNano(), 10)
		}
	}
}

// Field numbers on the path weightsOf walks, from the generated
// descriptors: RouteConfiguration.virtual_hosts → VirtualHost.name and
// .routes → Route.route → RouteAction.weighted_clusters →
// WeightedCluster.clusters → ClusterWeight.weight → UInt32Value.value.
var (
	fVirtualHosts = adsclient.FieldNum(&routev3.RouteConfiguration{}, "virtual_hosts")
	fVHostName    = adsclient.FieldNum(&routev3.VirtualHost{}, "name")
	fRoutes       = adsclient.FieldNum(&routev3.VirtualHost{}, "routes")
	fRouteAction  = adsclient.FieldNum(&routev3.Route{}, "route")
	fWeighted     = adsclient.FieldNum(&routev3.RouteAction{}, "weighted_clusters")
	fClusters     = adsclient.FieldNum(&routev3.WeightedCluster{}, "clusters")
	fWeight       = adsclient.FieldNum(&routev3.WeightedCluster_ClusterWeight{}, "weight")
	fValue        = adsclient.FieldNum(&wrapperspb.UInt32Value{}, "value")
)

// weightsOf reads, from an encoded RouteConfiguration, the weighted
// clusters of the first route of the virtual host named vhost as
// "w1/w2/…". It walks the wire format instead of decoding the message: the
// simulated proxies share the machine's cores with the control plane they
// measure, and decoding every route configuration a thousand proxies
// receive would take a third of the fleet's CPU.
func weightsOf(rc []byte, vhost string) string {
	for _, vh := range adsclient.Fields(rc, fVirtualHosts) {
		if name := adsclient.Fields(vh, fVHostName); len(name) != 1 || string(name[0]) != vhost {
			continue
		}
		routes := adsclient.Fields(vh, fRoutes)
		if len(routes) == 0 {
			return ""
		}
		var ws []string
		for _, action := range adsclient.Fields(routes[0], fRouteAction) {
			for _, wc := range adsclient.Fields(action, fWeighted) {
				for _, c := range adsclient.Fields(wc, fClusters) {
					var w uint64
					for _, wv := range adsclient.Fields(c, fWeight) {
						for _, v := range adsclient.Varints(wv, fValue) {
							w = v
						}
					}
					ws = append(ws, strconv.FormatUint(w, 10))
				}
			}
		}
		return strings.Join(ws, "/")
	}
	return ""
}

// commands answers "stats" lines on in and cancels when in closes.
func (r *recorder) commands(in io.Reader, cancel context.CancelFunc) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() == "stats" {
			r.out <- fmt.Sprintf("stats %d %d %d %d %d", r.counts[0].Load(), r.counts[1].Load(),
				r.counts[2].Load(), r.counts[3].Load(), r.bytes.Load())
		}
	}
	cancel()
}

// write copies lines to w, flushing whenever no more are waiting, so the
// parent sees each burst as it happens without a write per line. Once done
// closes it writes what is left and returns.
func (r *recorder) write(w io.Writer, done <-chan struct{}) {
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	for {
		select {
		case line := <-r.out:
			bw.WriteString(line)
			bw.WriteByte('\n')
			if len(r.out) == 0 {
				_ = bw.Flush()
			}
		case <-done:
			for len(r.out) > 0 {
				bw.WriteString(<-r.out)
				bw.WriteByte('\n')
			}
			return
		}
	}
}
