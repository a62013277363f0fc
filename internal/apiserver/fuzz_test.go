package apiserver

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/manager"
)

// FuzzDecodeRequest feeds arbitrary bytes through the request decoding path
// of a Create: body parsing, strict decoding of every member and of the
// spec of each kind. It must never panic, every failure must be a
// BadRequest naming what was wrong, and a body that is not valid UTF-8 is
// never accepted.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"meshName":"m","spec":{"egressFilter":{"type":"DROP_ALL"}},"tags":[{"key":"a","value":"b"}],"clientToken":"t"}`))
	f.Add([]byte(`{"virtualNodeName":"n","spec":{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"n.local"}}}}`))
	f.Add([]byte(`{"routeName":"r","spec":{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"a","weight":1}]}}}}`))
	f.Add([]byte(`{"spec":null,"tags":null}`))
	f.Add([]byte(``))
	f.Add([]byte(`{"spec":{"listeners":[{"portMapping":{"port":1e99}}]}}`))
	f.Add([]byte("{\"meshName\":\"bad\xffname\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range appmesh.Kinds {
			b, err := parseBody(data, kind.NameKey(), "spec", "tags", "clientToken")
			if err != nil {
				mustBeBadRequest(t, err)
				continue
			}
			// Invalid UTF-8 is refused, never decoded into U+FFFD.
			if !utf8.Valid(data) {
				t.Fatalf("parseBody accepted invalid UTF-8 %q", data)
			}
			var name, token string
			var tags []appmesh.TagRef
			for _, step := range []error{b.decode(kind.NameKey(), &name), b.decode("tags", &tags), b.decode("clientToken", &token), b.decode("spec", kind.NewSpec())} {
				if step != nil {
					mustBeBadRequest(t, step)
				}
			}
		}
	})
}

func mustBeBadRequest(t *testing.T, err error) {
	t.Helper()
	var me *manager.Error
	if !errors.As(err, &me) || me.Code != manager.CodeBadRequest || me.Message == "" {
		t.Fatalf("decode error %v is not a BadRequest with a message", err)
	}
}
