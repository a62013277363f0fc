package audit

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxFastDepth bounds the nesting appendValue walks itself; a deeper
// parameter tree takes the Redact (encoding/json) path instead.
const maxFastDepth = 1000

// appendRecord appends r's JSON object to b, byte for byte what
// json.Marshal writes for the Record struct, with requestParameters and
// responseElements redacted as Redact does. It returns ok=false (and b
// unchanged in meaning) when a parameter value holds something it does not
// encode exactly; the caller then redacts with Redact and tries again.
func appendRecord(b []byte, r *Record) ([]byte, bool) {
	start := len(b)
	b = appendField(b, '{', "eventVersion", r.EventVersion)
	b = appendField(b, ',', "eventTime", r.EventTime)
	b = appendField(b, ',', "eventSource", r.EventSource)
	b = appendField(b, ',', "eventName", r.EventName)
	b = appendField(b, ',', "awsRegion", r.AWSRegion)
	b = appendField(b, ',', "sourceIPAddress", r.SourceIPAddress)
	b = appendField(b, ',', "userAgent", r.UserAgent)
	b = append(b, `,"userIdentity":`...)
	b = appendIdentity(b, &r.UserIdentity)
	var ok bool
	b = append(b, `,"requestParameters":`...)
	if b, ok = appendValue(b, r.RequestParameters, 0); !ok {
		return b[:start], false
	}
	b = append(b, `,"responseElements":`...)
	if b, ok = appendValue(b, r.ResponseElements, 0); !ok {
		return b[:start], false
	}
	b = appendOmitEmpty(b, "errorCode", r.ErrorCode)
	b = appendOmitEmpty(b, "errorMessage", r.ErrorMessage)
	b = appendField(b, ',', "requestID", r.RequestID)
	b = appendField(b, ',', "eventID", r.EventID)
	b = append(b, `,"readOnly":`...)
	b = strconv.AppendBool(b, r.ReadOnly)
	if len(r.Resources) > 0 {
		b = append(b, `,"resources":[`...)
		for i := range r.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			res := &r.Resources[i]
			b = appendField(b, '{', "ARN", res.ARN)
			b = appendOmitEmpty(b, "accountId", res.AccountID)
			b = appendOmitEmpty(b, "type", res.Type)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendOmitEmpty(b, "eventType", r.EventType)
	b = appendOmitEmpty(b, "recipientAccountId", r.RecipientAccountID)
	return append(b, '}'), true
}

func appendIdentity(b []byte, u *UserIdentity) []byte {
	b = appendField(b, '{', "type", u.Type)
	b = appendOmitEmpty(b, "principalId", u.PrincipalID)
	b = appendOmitEmpty(b, "arn", u.ARN)
	b = appendOmitEmpty(b, "accountId", u.AccountID)
	b = appendOmitEmpty(b, "accessKeyId", u.AccessKeyID)
	b = appendOmitEmpty(b, "userName", u.UserName)
	return append(b, '}')
}

// appendField appends sep, the key (a constant that needs no escaping) and
// the string value.
func appendField(b []byte, sep byte, key, v string) []byte {
	b = append(b, sep, '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func appendOmitEmpty(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendField(b, ',', key, v)
}

// appendValue appends a parameter tree (what encoding/json decodes into an
// any, plus int) with every Sensitive key's value replaced by Hidden. ok is
// false for any other type, a non-finite float, invalid UTF-8 (which a
// marshal and decode round trip would rewrite) or nesting deeper than
// maxFastDepth.
func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	if depth > maxFastDepth {
		return b, false
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		if !utf8.ValidString(x) {
			return b, false
		}
		return appendString(b, x), true
	case bool:
		return strconv.AppendBool(b, x), true
	case float64:
		return appendFloat(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case []any:
		if x == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendValue(b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		return appendObject(b, x, depth)
	}
	return b, false
}

// appendObject appends a map with its keys sorted, as encoding/json does.
func appendObject(b []byte, m map[string]any, depth int) ([]byte, bool) {
	if m == nil {
		return append(b, "null"...), true
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !utf8.ValidString(k) {
			return b, false
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		if Sensitive(k) {
			b = appendString(b, Hidden)
			continue
		}
		var ok bool
		if b, ok = appendValue(b, m[k], depth+1); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendFloat writes f as encoding/json does (ECMAScript number form):
// plain digits for 1e-6 <= |f| < 1e21 and zero, exponent form otherwise,
// with a one-digit negative exponent not zero-padded (1e-7, not 1e-07).
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b, true
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json escapes
// it: HTML-safe (<, > and & as \u003c, \u003e, \u0026), control bytes as
// \n, \r, \t, \b, \f or \u00XX, U+2028 and U+2029 escaped, and each byte of
// invalid UTF-8 as \ufffd.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscapedByte(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch {
			case size == 1:
				b = append(b, `\ufffd`...)
			case r == '\u2028':
				b = append(b, `\u2028`...)
			default:
				b = append(b, `\u2029`...)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendEscapedByte(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// jsonMarshalRecord is the reference encoding: what appendRecord must
// equal, and the path for records appendRecord declines.
func jsonMarshalRecord(r *Record) ([]byte, error) {
	c := *r
	c.RequestParameters = Redact(c.RequestParameters)
	c.ResponseElements = Redact(c.ResponseElements)
	return json.Marshal(&c)
}
