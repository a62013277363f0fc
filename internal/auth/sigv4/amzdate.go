package sigv4

import "time"

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

// appendScopeDate appends t's UTC date as YYYYMMDD (t.UTC().AppendFormat
// with "20060102", for years 0 to 9999).
func appendScopeDate(b []byte, t time.Time) []byte {
	y, m, d := t.UTC().Date()
	if y < 0 || y > 9999 {
		return t.UTC().AppendFormat(b, "20060102")
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		byte('0'+int(m)/10), byte('0'+int(m)%10), byte('0'+d/10), byte('0'+d%10))
}
