package xdsgen

import (
	"fmt"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	fileaccesslogv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/trellis-mesh/trellis/internal/ir"
)

const fileAccessLogName = "envoy.access_loggers.file"

// accessLogs maps IR access logs to file access loggers, shared by the HTTP
// connection manager and tcp_proxy.
func accessLogs(logs []ir.AccessLog) ([]*accesslogv3.AccessLog, error) {
	var out []*accesslogv3.AccessLog
	for i := range logs {
		cfg, err := fileAccessLog(&logs[i])
		if err != nil {
			return nil, fmt.Errorf("access log %d (%s): %w", i, logs[i].Path, err)
		}
		a, err := typed(cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, &accesslogv3.AccessLog{
			Name:       fileAccessLogName,
			ConfigType: &accesslogv3.AccessLog_TypedConfig{TypedConfig: a},
		})
	}
	return out, nil
}

// fileAccessLog picks the format: a text format string, a JSON object, or
// neither, which leaves Envoy's default format (App Mesh's behaviour when
// logging.accessLog.file had no format).
func fileAccessLog(l *ir.AccessLog) (*fileaccesslogv3.FileAccessLog, error) {
	out := &fileaccesslogv3.FileAccessLog{Path: l.Path}
	switch {
	case l.Text != "" && len(l.JSON) > 0:
		return nil, fmt.Errorf("both text and json formats set")
	case l.Text != "":
		out.AccessLogFormat = &fileaccesslogv3.FileAccessLog_LogFormat{LogFormat: &corev3.SubstitutionFormatString{
			Format: &corev3.SubstitutionFormatString_TextFormatSource{TextFormatSource: &corev3.DataSource{
				Specifier: &corev3.DataSource_InlineString{InlineString: l.Text},
			}},
		}}
	case len(l.JSON) > 0:
		s, err := jsonFormat(l.JSON)
		if err != nil {
			return nil, err
		}
		out.AccessLogFormat = &fileaccesslogv3.FileAccessLog_LogFormat{LogFormat: &corev3.SubstitutionFormatString{
			Format: &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: s},
		}}
	}
	return out, nil
}

// jsonFormat builds the json_format Struct. A Struct is a map, so the IR's
// key order cannot survive into the proto (Envoy decides the order of keys
// in the log line); a repeated key would silently drop a value, so it is
// an error instead.
func jsonFormat(kvs []ir.KeyValue) (*structpb.Struct, error) {
	s := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(kvs))}
	for _, kv := range kvs {
		if _, dup := s.Fields[kv.Key]; dup {
			return nil, fmt.Errorf("json format: duplicate key %q", kv.Key)
		}
		s.Fields[kv.Key] = structpb.NewStringValue(kv.Value)
	}
	return s, nil
}
