package validation

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

// logging checks optional access logging (node and gateway shapes are the
// same).
func (c *collector) logging(p path, l *appmesh.Logging) {
	if l == nil || l.AccessLog == nil {
		return
	}
	ap := p.field("accessLog")
	c.union(ap, member{"file", l.AccessLog.File != nil})
	if f := l.AccessLog.File; f != nil {
		fp := ap.field("file")
		c.loggingFormat(fp.field("format"), f.Format)
		c.requiredString(fp.field("path"), f.Path, 1, 255)
	}
}

// loggingFormat checks the optional json|text format union. The json list
// needs at least one entry: an empty list is dropped on output and would
// leave an empty union behind. Duplicate json keys are rejected because a
// JSON log line cannot hold the same key twice.
func (c *collector) loggingFormat(p path, f *appmesh.LoggingFormat) {
	if f == nil {
		return
	}
	c.union(p, member{"json", f.Json != nil}, member{"text", f.Text != nil})
	if f.Json != nil {
		jp := p.field("json")
		c.items(jp, len(f.Json), true, 1, 0)
		seen := make(map[string]bool, len(f.Json))
		for i, kv := range f.Json {
			c.requiredString(jp.index(i).field("key"), kv.Key, 1, 100)
			if kv.Key != "" && seen[kv.Key] {
				c.addf(jp.index(i).field("key"), "duplicate key %q", kv.Key)
			}
			seen[kv.Key] = true
			c.requiredString(jp.index(i).field("value"), kv.Value, 1, 100)
		}
	}
	c.optionalString(p.field("text"), f.Text, 1, 1000)
}
