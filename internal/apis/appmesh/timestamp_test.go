package appmesh

import (
	"testing"
)

// TestTimestampFastPath: the exact reader agrees with the ParseFloat path
// on what MarshalJSON writes and around its bounds, and leaves the rest to
// ParseFloat.
func TestTimestampFastPath(t *testing.T) {
	tests := []struct {
		in   string
		fast bool // read by epochMillis
	}{
		{"1649252750.072", true},
		{"1649252750.07", true},
		{"1649252750.7", true},
		{"1649252750", true},
		{"0", true},
		{"-0", true},
		{"-1.5", true},
		{"-1649252750.999", true},
		{"999999999999.999", true},
		{"1000000000000", false},   // 13 digits: ParseFloat
		{"1649252750.0725", false}, // a fourth decimal: ParseFloat rounds
		{"1649252750.", false},
		{"1.5e3", false},
		{".5", false},
		{"-", false},
		{"", false},
		{`"1"`, false},
		{"1x", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, fast := epochMillis([]byte(tc.in))
			if fast != tc.fast {
				t.Fatalf("epochMillis took it: %v, want %v", fast, tc.fast)
			}
			var got, want Timestamp
			errGot, errWant := got.UnmarshalJSON([]byte(tc.in)), want.unmarshalFloat([]byte(tc.in))
			if (errGot == nil) != (errWant == nil) || !got.Equal(want.Time) {
				t.Fatalf("UnmarshalJSON = %v, %v; ParseFloat path %v, %v", got, errGot, want, errWant)
			}
		})
	}
}

// FuzzTimestamp holds UnmarshalJSON to the ParseFloat path on any input
// (stored records and request bodies are decoded with it).
func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{"1649252750.072", "-1.5", "999999999999.999", "1e3", "0.0005"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want Timestamp
		errGot, errWant := got.UnmarshalJSON([]byte(s)), want.unmarshalFloat([]byte(s))
		if (errGot == nil) != (errWant == nil) || !got.Equal(want.Time) {
			t.Fatalf("%q: UnmarshalJSON = %v, %v; ParseFloat path %v, %v", s, got, errGot, want, errWant)
		}
	})
}
