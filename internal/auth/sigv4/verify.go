package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"time"
)

// DefaultMaxSkew is AWS's clock-skew window.
const DefaultMaxSkew = 5 * time.Minute

// Verifier checks signatures for one region. It is immutable and safe for
// concurrent use.
type Verifier struct {
	// Region is the server's region; the credential scope must name it.
	Region string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew is the accepted |request time - now|; 0 means DefaultMaxSkew.
	MaxSkew time.Duration
	// AllowUnsignedPayload accepts x-amz-content-sha256: UNSIGNED-PAYLOAD on
	// the header form (AWS allows it for S3 only; presigned URLs always may).
	AllowUnsignedPayload bool
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// CheckScope checks what needs no secret: the region, that the service is
// one of services, and the request time (skew for the header form; skew
// and expiry for the presigned form).
func (v *Verifier) CheckScope(sig *Signature, services ...string) error {
	if sig.Region != v.Region {
		return invalid("Credential should be scoped to a valid region, not '%s'. ", sig.Region)
	}
	if !slices.Contains(services, sig.Service) {
		want := ""
		if len(services) > 0 {
			want = services[0]
		}
		return invalid("Credential should be scoped to correct service: '%s'. ", want)
	}
	skew := v.MaxSkew
	if skew == 0 {
		skew = DefaultMaxSkew
	}
	now := v.now()
	if sig.Time.After(now.Add(skew)) || (!sig.Presigned && sig.Time.Before(now.Add(-skew))) {
		return newError(CodeSkewed, http.StatusForbidden,
			"The difference between the request time (%s) and the current time (%s) is too large.",
			sig.Time.UTC().Format(TimeFormat), now.UTC().Format(TimeFormat))
	}
	if sig.Presigned && now.After(sig.Time.Add(sig.Expires)) {
		return invalid("Signature expired: %s is now earlier than %s (%s - %s.)",
			sig.Time.Add(sig.Expires).UTC().Format(TimeFormat), now.UTC().Format(TimeFormat),
			now.UTC().Format(TimeFormat), sig.Expires)
	}
	return nil
}

// Verify recomputes the signature of r with secret and compares it in
// constant time. bodyHash is the hex SHA-256 of the body the handler will
// read. A signed x-amz-content-sha256 header must equal it, or be
// UNSIGNED-PAYLOAD where that is allowed; presigned requests may also have
// been signed with UNSIGNED-PAYLOAD.
func (v *Verifier) Verify(r *http.Request, sig *Signature, secret, bodyHash string) error {
	return v.VerifyWithKey(r, sig, DeriveKey(secret, sig.Date, sig.Region, sig.Service), bodyHash)
}

// VerifyWithKey is Verify with the scope's signing key already derived
// (callers cache it: it changes once a day per key, region and service).
func (v *Verifier) VerifyWithKey(r *http.Request, sig *Signature, key *Key, bodyHash string) error {
	candidates, n := [2]string{bodyHash}, 1
	if declared := headerValue(r.Header, hdrContentSHA256); declared != "" {
		switch {
		case declared == UnsignedPayload && (sig.Presigned || v.AllowUnsignedPayload):
			candidates[0] = UnsignedPayload
		case declared != bodyHash:
			return invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	} else if sig.Presigned {
		candidates[1], n = UnsignedPayload, 2
	}
	for _, ph := range candidates[:n] {
		if signatureMatches(r, sig, key, ph) {
			return nil
		}
	}
	return invalid("The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
}

// signatureMatches computes the signature for one payload hash and
// compares it with sig.Value in constant time. The canonical request is
// built in a stack buffer (a request with many or long signed headers
// spills to the heap), the string to sign and the HMAC in the key's pooled
// state.
func signatureMatches(r *http.Request, sig *Signature, key *Key, payloadHash string) bool {
	var crBuf [1024]byte
	sum := sha256.Sum256(appendCanonicalRequest(crBuf[:0], r, sig, payloadHash))
	return key.matches(sig, sum)
}

// hexEqual reports whether want is the lower-case hex of sum, in time that
// depends only on the lengths (as hmac.Equal on the hex strings did).
func hexEqual(sum []byte, want string) bool {
	var h [2 * sha256.Size]byte
	if len(sum) > sha256.Size || len(want) != 2*len(sum) {
		return false
	}
	hex.Encode(h[:], sum)
	var diff byte
	for i := range len(want) {
		diff |= h[i] ^ want[i]
	}
	return diff == 0
}
