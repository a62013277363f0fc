package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxBody bounds request bodies; the largest App Mesh spec is far smaller.
const maxBody = 1 << 20

var sprintf = fmt.Sprintf

// body is a decoded request body: its top-level members, still raw.
type body map[string]json.RawMessage

// readBody reads a JSON object body, accepting an empty body as {} (as
// botocore sends for operations whose members are all optional), and
// refuses members other than those allowed.
func readBody(r *http.Request, allowed ...string) (body, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, badRequest("request body: %v", err)
	}
	return parseBody(raw, allowed...)
}

// parseBody is readBody's pure part, also the target of the fuzz test.
func parseBody(raw []byte, allowed ...string) (body, error) {
	b := body{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return b, nil
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, badRequest("request body: must be a JSON object: %v", err)
	}
	for k, v := range b {
		if !slices.Contains(allowed, k) {
			return nil, badRequest("%s: unknown member (allowed: %s)", k, strings.Join(allowed, ", "))
		}
		// encoding/json would turn invalid UTF-8 into U+FFFD and store
		// a name the caller never sent; the raw member still has it.
		if !utf8.Valid(v) {
			return nil, badRequest("%s: must be valid UTF-8", k)
		}
		if string(v) == "null" {
			delete(b, k)
		}
	}
	return b, nil
}

// has reports whether member k was sent (and not null).
func (b body) has(k string) bool { _, ok := b[k]; return ok }

// decode strictly decodes member k into v: unknown fields and wrong types
// are BadRequest naming the field. Absent members leave v untouched.
func (b body) decode(k string, v any) error {
	raw, ok := b[k]
	if !ok {
		return nil
	}
	return decodeStrict(k, raw, v)
}

func decodeStrict(field string, raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("%s", describeJSONError(field, err))
	}
	if dec.More() {
		return badRequest("%s: trailing data after JSON value", field)
	}
	return nil
}

// describeJSONError turns encoding/json errors into "field: problem".
func describeJSONError(field string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		path := field
		if te.Field != "" {
			path += "." + te.Field
		}
		return fmt.Sprintf("%s: must be %s, got JSON %s", path, jsonTypeName(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s: malformed JSON at offset %d: %v", field, se.Offset, err)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return fmt.Sprintf("%s: %s", field, msg)
}

func jsonTypeName(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer in range"
	case goKind == "string":
		return "a string"
	case goKind == "bool":
		return "a boolean"
	case goKind == "slice":
		return "a list"
	case goKind == "struct", goKind == "map", goKind == "ptr":
		return "an object"
	}
	return goKind
}

// queryLimit parses the limit query parameter (1..max); 0 when absent.
func queryLimit(r *http.Request, max int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, badRequest("limit: must be an integer 1..%d", max)
	}
	return n, nil
}
