package sigv4

import (
	"net/http"
	"time"
)

// parseAmzDate is time.Parse(TimeFormat, v). The form every SDK sends
// (16 characters: 8 digits, T, 6 digits, Z) with an existing date and
// time is read directly; anything else, including every error, is
// time.Parse's.
func parseAmzDate(v string) (time.Time, error) {
	if len(v) == len(TimeFormat) && v[8] == 'T' && v[15] == 'Z' {
		if t, ok := dateOf(v[:8], v[9:15]); ok {
			return t, nil
		}
	}
	return time.Parse(TimeFormat, v)
}

// parseScopeDate is time.Parse("20060102", v), read directly when v is 8
// digits naming an existing date.
func parseScopeDate(v string) (time.Time, error) {
	if len(v) == 8 {
		if t, ok := dateOf(v, "000000"); ok {
			return t, nil
		}
	}
	return time.Parse("20060102", v)
}

// dateOf reads YYYYMMDD and hhmmss (digits only) as a UTC time; ok is
// false unless the fields name an existing date and time, which
// time.Date's normalisation would otherwise hide.
func dateOf(ymd, hms string) (time.Time, bool) {
	var n [6]int
	for i, f := range [6]string{ymd[:4], ymd[4:6], ymd[6:8], hms[:2], hms[2:4], hms[4:6]} {
		for j := range len(f) {
			c := f[j]
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			n[i] = n[i]*10 + int(c-'0')
		}
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, time.UTC)
	y, m, d := t.Date()
	ok := y == n[0] && int(m) == n[1] && d == n[2] && t.Hour() == n[3] && t.Minute() == n[4] && t.Second() == n[5]
	return t, ok
}

// appendScopeDate appends t's UTC date as YYYYMMDD: t.UTC().AppendFormat
// with "20060102", done directly for years 0 to 9999.
func appendScopeDate(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "20060102")
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		byte('0'+int(m)/10), byte('0'+int(m)%10), byte('0'+d/10), byte('0'+d%10))
}

// appendAmzDate appends t in UTC as TimeFormat: t.UTC().AppendFormat with
// TimeFormat, done directly for years 0 to 9999.
func appendAmzDate(b []byte, t time.Time) []byte {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return t.AppendFormat(b, TimeFormat)
	}
	b = appendScopeDate(b, t)
	h, mi, s := t.Clock()
	return append(b, 'T', byte('0'+h/10), byte('0'+h%10), byte('0'+mi/10), byte('0'+mi%10), byte('0'+s/10), byte('0'+s%10), 'Z')
}

// headerValue is h.Get(key) for a key already in canonical form, without
// canonicalising it again (TestHeaderKeysCanonical checks the keys).
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// The headers a request's signature is read from, in canonical form.
const (
	hdrAuthorization = "Authorization"
	hdrSecurityToken = "X-Amz-Security-Token"
	hdrAmzDate       = "X-Amz-Date"
	hdrDate          = "Date"
	hdrContentSHA256 = "X-Amz-Content-Sha256"
)
