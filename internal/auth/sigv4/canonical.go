package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// EmptyPayloadHash is the SHA-256 of an empty body.
const EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// HashPayload is the hex SHA-256 of a body.
func HashPayload(body []byte) string {
	if len(body) == 0 {
		return EmptyPayloadHash // most describes and lists: no hashing, no allocation
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// CanonicalRequest builds the canonical request AWS signs: method, the
// request path URI-encoded once more (as every service but S3 does), the
// canonical query, the canonical headers, the signed header list and the
// payload hash. The presigned form's X-Amz-Signature is left out.
func CanonicalRequest(r *http.Request, sig *Signature, payloadHash string) string {
	return string(appendCanonicalRequest(make([]byte, 0, 512), r, sig, payloadHash))
}

// appendCanonicalRequest appends CanonicalRequest's text to b.
func appendCanonicalRequest(b []byte, r *http.Request, sig *Signature, payloadHash string) []byte {
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = append(b, canonicalURI(r)...)
	b = append(b, '\n')
	b = append(b, canonicalQuery(r.URL.RawQuery, sig.Presigned)...)
	b = append(b, '\n')
	for _, name := range sig.SignedHeaders {
		b = append(b, name...)
		b = append(b, ':')
		b = appendHeaderValue(b, r, name)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, name := range sig.SignedHeaders {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, name...)
	}
	b = append(b, '\n')
	return append(b, payloadHash...)
}

// StringToSign is algorithm, timestamp, scope and the canonical request's hash.
func StringToSign(sig *Signature, canonical string) string {
	return string(appendStringToSign(make([]byte, 0, 256), sig, sha256.Sum256([]byte(canonical))))
}

// appendStringToSign appends the string to sign, given the canonical
// request's SHA-256, to b.
func appendStringToSign(b []byte, sig *Signature, canonicalSum [sha256.Size]byte) []byte {
	b = append(b, Algorithm...)
	b = append(b, '\n')
	b = appendAmzDate(b, sig.Time)
	b = append(b, '\n')
	b = append(b, sig.Date...)
	b = append(b, '/')
	b = append(b, sig.Region...)
	b = append(b, '/')
	b = append(b, sig.Service...)
	b = append(b, "/aws4_request\n"...)
	return hex.AppendEncode(b, canonicalSum[:])
}

// SigningKey derives the scope's key from the secret access key.
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

// Sign is the hex signature of the string to sign under the key.
func Sign(key []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// canonicalURI is the path as sent on the wire, encoded again. An empty
// path is "/".
func canonicalURI(r *http.Request) string {
	p := r.URL.EscapedPath()
	if r.RequestURI != "" && strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ = strings.Cut(r.RequestURI, "?")
	}
	if p == "" {
		return "/"
	}
	return uriEncode(p, true)
}

// canonicalQuery decodes every name=value pair (as url.ParseQuery would, but
// keeping pairs whose encoding is odd), re-encodes them strictly and sorts
// by name, then value.
func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = queryUnescape(k), queryUnescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, pair{uriEncode(k, false), uriEncode(v, false)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

func queryUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// appendHeaderValue appends a signed header's canonical value: values
// joined by ",", each trimmed with inner runs of spaces collapsed. Go moves
// Host and Content-Length out of Header; they are read back from the
// request.
func appendHeaderValue(b []byte, r *http.Request, name string) []byte {
	var values []string
	switch name {
	case "host":
		return appendCollapsed(b, r.Host)
	case "content-length":
		values = r.Header.Values("Content-Length")
		if len(values) == 0 && r.ContentLength >= 0 {
			return strconv.AppendInt(b, r.ContentLength, 10)
		}
	default:
		values = r.Header[canonicalHeaderKey(name)]
	}
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCollapsed(b, v)
	}
	return b
}

// canonicalHeaderKey is textproto.CanonicalMIMEHeaderKey(name), without
// allocating for the headers the AWS SDKs and CLI sign.
func canonicalHeaderKey(name string) string {
	switch name {
	case "x-amz-date":
		return "X-Amz-Date"
	case "x-amz-content-sha256":
		return "X-Amz-Content-Sha256"
	case "x-amz-security-token":
		return "X-Amz-Security-Token"
	case "x-amz-user-agent":
		return "X-Amz-User-Agent"
	case "x-amz-target":
		return "X-Amz-Target"
	case "amz-sdk-invocation-id":
		return "Amz-Sdk-Invocation-Id"
	case "amz-sdk-request":
		return "Amz-Sdk-Request"
	case "content-type":
		return "Content-Type"
	case "content-md5":
		return "Content-Md5"
	case "user-agent":
		return "User-Agent"
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// appendCollapsed appends s trimmed, with every run of spaces turned into
// one space.
func appendCollapsed(b []byte, s string) []byte {
	s = strings.TrimSpace(s)
	prev := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if prev {
				continue
			}
			prev = true
		} else {
			prev = false
		}
		b = append(b, s[i])
	}
	return b
}

// uriEncode percent-encodes every byte but the unreserved characters
// (A-Z a-z 0-9 - _ . ~), and '/' when keepSlash, with upper-case hex.
func uriEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	i := 0
	for i < len(s) && unreserved(s[i], keepSlash) {
		i++
	}
	if i == len(s) {
		return s // nothing to encode (most paths): no copy
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if unreserved(c, keepSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// unreserved: A-Z a-z 0-9 - _ . ~, and '/' when keepSlash.
func unreserved(c byte, keepSlash bool) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/')
}
