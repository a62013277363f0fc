package irgen

import (
	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
)

// accessLogs translates a node's spec.logging (§3.13): a file path and an
// optional format, text (an Envoy format string) or json (ordered key /
// format pairs). No format leaves Envoy's default text format. App Mesh put
// the same logger on the connection managers of both ingress and egress
// listeners; irgen also puts it on TCP proxies so TCP traffic is logged.
func accessLogs(l *appmesh.Logging) []ir.AccessLog {
	if l == nil || l.AccessLog == nil || l.AccessLog.File == nil {
		return nil
	}
	f := l.AccessLog.File
	al := ir.AccessLog{Path: f.Path}
	if f.Format != nil {
		if f.Format.Text != nil {
			al.Text = *f.Format.Text
		}
		for _, kv := range f.Format.Json {
			al.JSON = append(al.JSON, ir.KeyValue{Key: kv.Key, Value: kv.Value})
		}
	}
	return []ir.AccessLog{al}
}
