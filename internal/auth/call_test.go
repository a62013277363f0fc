package auth

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

type otherKey struct{}

// TestCallContext: the request's call answers the identity once
// authenticated, passes every other key and cancellation through to the
// request's context, and contexts derived from it behave as usual.
func TestCallContext(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "v"))
	c := &call{Context: parent, id: Identity{PrincipalARN: "arn:aws:iam::1:user/a", AccessKeyID: "AKID"}}
	if _, ok := IdentityFrom(c); ok {
		t.Fatal("identity before authentication")
	}
	c.authed = true
	id, ok := IdentityFrom(c)
	if !ok || id.PrincipalARN != "arn:aws:iam::1:user/a" || id.AccessKeyID != "AKID" {
		t.Fatalf("IdentityFrom = %+v, %v", id, ok)
	}
	if got := c.Value(otherKey{}); got != "v" {
		t.Fatalf("other key = %v", got)
	}
	child, stop := context.WithCancel(c)
	defer stop()
	if got, ok := IdentityFrom(child); !ok || got != id {
		t.Fatal("a derived context lost the identity")
	}
	cancel()
	<-child.Done() // the request's cancellation reaches contexts derived from the call
	if !errors.Is(c.Err(), context.Canceled) || !errors.Is(child.Err(), context.Canceled) {
		t.Fatalf("errors %v, %v", c.Err(), child.Err())
	}
}

// TestPrincipalDocuments: prepared or not, the documents come sorted by
// policy name with the aws:ResourceTag flag, and a prepared principal
// returns the same slice every time.
func TestPrincipalDocuments(t *testing.T) {
	tests := []struct {
		name     string
		policies map[string]json.RawMessage
		want     []string
		resTag   bool
	}{
		{name: "none"},
		{name: "one", policies: map[string]json.RawMessage{"admin": json.RawMessage(`{"a":1}`)}, want: []string{`{"a":1}`}},
		{name: "sorted by name, tag condition", policies: map[string]json.RawMessage{
			"b": json.RawMessage(`{"b":"aws:ResourceTag/team"}`), "a": json.RawMessage(`{"a":2}`), "c": json.RawMessage(`{"c":3}`)},
			want: []string{`{"a":2}`, `{"b":"aws:ResourceTag/team"}`, `{"c":3}`}, resTag: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, prepared := range []bool{false, true} {
				p := &Principal{ARN: "arn:aws:iam::1:user/a", Policies: tc.policies}
				if prepared {
					p.prepare()
				}
				docs, resTag := p.documents()
				var got []string
				for _, d := range docs {
					got = append(got, string(d))
				}
				if !slices.Equal(got, tc.want) || resTag != tc.resTag {
					t.Errorf("prepared %v: %q %v, want %q %v", prepared, got, resTag, tc.want, tc.resTag)
				}
				if again, _ := p.documents(); prepared && len(docs) > 0 && &again[0] != &docs[0] {
					t.Error("a prepared principal built its documents again")
				}
			}
		})
	}
}
