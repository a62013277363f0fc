package sigv4

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// TimeFormat is the X-Amz-Date layout (ISO 8601 basic, UTC).
const TimeFormat = "20060102T150405Z"

// UnsignedPayload is the payload hash a client sends when it does not sign
// the body.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// maxPresignExpiry is the longest X-Amz-Expires AWS accepts (7 days).
const maxPresignExpiry = 7 * 24 * time.Hour

// Signature is the signing information a request carries, parsed but not
// yet verified.
type Signature struct {
	AccessKeyID string
	// Date (YYYYMMDD), Region and Service are the credential scope.
	Date, Region, Service string
	// SignedHeaders are lower-case names in the order given (must be sorted).
	SignedHeaders []string
	// Value is the hex signature.
	Value string
	// Time is X-Amz-Date (or the Date header).
	Time time.Time
	// Presigned is true for the query form; Expires is then X-Amz-Expires.
	Presigned bool
	Expires   time.Duration
	// SecurityToken is X-Amz-Security-Token (temporary credentials), or "".
	SecurityToken string

	// inline holds SignedHeaders when there are few (the SDKs sign 4 to 7
	// headers), so parsing allocates no slice. A copy of a Signature
	// shares it with the original.
	inline [8]string
}

// Scope is the credential scope string date/region/service/aws4_request.
func (s *Signature) Scope() string {
	return s.Date + "/" + s.Region + "/" + s.Service + "/aws4_request"
}

// Parse extracts the signature from the Authorization header or, failing
// that, from the presigned query parameters. A request with neither returns
// ErrMissing's *Error (MissingAuthenticationTokenException); a malformed one
// IncompleteSignatureException.
func Parse(r *http.Request) (*Signature, error) {
	sig := new(Signature)
	if err := ParseInto(r, sig); err != nil {
		return nil, err
	}
	return sig, nil
}

// ParseInto is Parse into a Signature the caller provides (the auth
// middleware keeps it with the rest of a request's state, in one
// allocation). sig must be the zero Signature; on error its contents are
// unspecified.
func ParseInto(r *http.Request, sig *Signature) error {
	if auth := headerValue(r.Header, hdrAuthorization); auth != "" {
		return sig.parseHeader(r, auth)
	}
	if r.URL.RawQuery == "" {
		return errMissing() // no presigned parameters, without parsing a query
	}
	q := r.URL.Query()
	if q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") {
		return sig.parseQuery(q)
	}
	return errMissing()
}

// parseHeader reads "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
func (sig *Signature) parseHeader(r *http.Request, auth string) error {
	alg, rest, ok := strings.Cut(auth, " ")
	if !ok || alg != Algorithm {
		return incomplete("Authorization header requires the %s algorithm", Algorithm)
	}
	var cred, signed, value string
	var seen [3]bool
	var others map[string]bool // components other than the three, for the repeat check
	for more := true; more; {
		var part string
		part, rest, more = strings.Cut(rest, ",")
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return incomplete("Authorization header requires each component in the form key=value: %q", part)
		}
		i := slices.Index([]string{"Credential", "SignedHeaders", "Signature"}, k)
		if i < 0 {
			if others[k] {
				return incomplete("Authorization header repeats %s", k)
			}
			if others == nil {
				others = map[string]bool{}
			}
			others[k] = true
			continue
		}
		if seen[i] {
			return incomplete("Authorization header repeats %s", k)
		}
		seen[i] = true
		*[]*string{&cred, &signed, &value}[i] = v
	}
	for _, f := range [...]struct{ k, v string }{{"Credential", cred}, {"SignedHeaders", signed}, {"Signature", value}} {
		if f.v == "" {
			return incomplete("Authorization header requires '%s' parameter", f.k)
		}
	}
	sig.Value, sig.SecurityToken = value, headerValue(r.Header, hdrSecurityToken)
	if err := sig.setCredential(cred); err != nil {
		return err
	}
	if err := sig.setSignedHeaders(signed); err != nil {
		return err
	}
	t, err := requestTime(r.Header)
	if err != nil {
		return err
	}
	sig.Time = t
	return sig.checkScopeDate()
}

// parseQuery reads the presigned form's X-Amz-* query parameters.
func (sig *Signature) parseQuery(q url.Values) error {
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if len(q[k]) != 1 || q.Get(k) == "" {
			return incomplete("presigned request requires exactly one '%s' parameter", k)
		}
	}
	if q.Get("X-Amz-Algorithm") != Algorithm {
		return incomplete("X-Amz-Algorithm must be %s", Algorithm)
	}
	sig.Presigned, sig.Value, sig.SecurityToken = true, q.Get("X-Amz-Signature"), q.Get("X-Amz-Security-Token")
	if err := sig.setCredential(q.Get("X-Amz-Credential")); err != nil {
		return err
	}
	if err := sig.setSignedHeaders(q.Get("X-Amz-SignedHeaders")); err != nil {
		return err
	}
	t, err := parseAmzDate(q.Get("X-Amz-Date"))
	if err != nil {
		return incomplete("X-Amz-Date must be in ISO 8601 basic format (%s)", TimeFormat)
	}
	sig.Time = t
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > maxPresignExpiry {
		return incomplete("X-Amz-Expires must be a number of seconds from 1 to 604800")
	}
	sig.Expires = time.Duration(secs) * time.Second
	return sig.checkScopeDate()
}

// setCredential splits AKID/date/region/service/aws4_request.
func (s *Signature) setCredential(cred string) error {
	var parts [5]string
	if strings.Count(cred, "/") == len(parts)-1 {
		rest := cred
		for i := range parts {
			parts[i], rest, _ = strings.Cut(rest, "/")
		}
	}
	if parts[0] == "" || parts[4] != "aws4_request" {
		return incomplete("Credential must have the form <access key id>/<date>/<region>/<service>/aws4_request")
	}
	if _, err := parseScopeDate(parts[1]); err != nil {
		return incomplete("Credential date %q must be YYYYMMDD", parts[1])
	}
	s.AccessKeyID, s.Date, s.Region, s.Service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

// setSignedHeaders splits the ;-separated list; it must be lower case,
// sorted, without duplicates, and include host.
func (s *Signature) setSignedHeaders(list string) error {
	names := s.inline[:0]
	if n := strings.Count(list, ";") + 1; n > len(s.inline) {
		names = make([]string, 0, n)
	}
	host := false
	for rest, more := list, true; more; {
		var n string
		n, rest, more = strings.Cut(rest, ";")
		if n == "" || n != strings.ToLower(n) { // ToLower copies only a name that is not lower case
			return incomplete("SignedHeaders must be non-empty lower-case names")
		}
		if len(names) > 0 && names[len(names)-1] >= n {
			return incomplete("SignedHeaders must be sorted and unique")
		}
		host = host || n == "host"
		names = append(names, n)
	}
	if !host {
		return incomplete("SignedHeaders must include host")
	}
	s.SignedHeaders = names
	return nil
}

// checkScopeDate: the credential date must be the request's UTC date.
func (s *Signature) checkScopeDate() error {
	var buf [8]byte
	if string(appendScopeDate(buf[:0], s.Time)) != s.Date {
		return invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s'",
			s.Date, s.Time.UTC().Format("20060102"))
	}
	return nil
}

// requestTime reads X-Amz-Date, or the Date header when it is absent.
func requestTime(h http.Header) (time.Time, error) {
	if v := headerValue(h, hdrAmzDate); v != "" {
		t, err := parseAmzDate(v)
		if err != nil {
			return time.Time{}, incomplete("X-Amz-Date must be in ISO 8601 basic format (%s)", TimeFormat)
		}
		return t, nil
	}
	if v := headerValue(h, hdrDate); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return time.Time{}, incomplete("Date header is not a valid HTTP date")
		}
		return t.UTC(), nil
	}
	return time.Time{}, incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header")
}
