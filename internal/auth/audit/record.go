package audit

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Record is one CloudTrail-shaped event. JSON field names are CloudTrail's.
type Record struct {
	EventVersion      string       `json:"eventVersion"`
	EventTime         string       `json:"eventTime"` // RFC 3339, UTC, seconds: 2026-12-06T21:00:00Z
	EventSource       string       `json:"eventSource"`
	EventName         string       `json:"eventName"`
	AWSRegion         string       `json:"awsRegion"`
	SourceIPAddress   string       `json:"sourceIPAddress"`
	UserAgent         string       `json:"userAgent"`
	UserIdentity      UserIdentity `json:"userIdentity"`
	RequestParameters any          `json:"requestParameters"`
	ResponseElements  any          `json:"responseElements"`
	ErrorCode         string       `json:"errorCode,omitempty"`
	ErrorMessage      string       `json:"errorMessage,omitempty"`
	RequestID         string       `json:"requestID"`
	EventID           string       `json:"eventID"`
	ReadOnly          bool         `json:"readOnly"`
	Resources         []Resource   `json:"resources,omitempty"`
	// EventType is CloudTrail's eventType; Append sets "AwsApiCall" when empty.
	EventType string `json:"eventType,omitempty"`
	// RecipientAccountID is CloudTrail's recipientAccountId.
	RecipientAccountID string `json:"recipientAccountId,omitempty"`
}

// UserIdentity is CloudTrail's userIdentity: who made the call.
type UserIdentity struct {
	Type        string `json:"type"` // IAMUser, AssumedRole, Root, Unknown (unauthenticated)
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

// Resource is one entry of CloudTrail's resources list.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"` // AWS::AppMesh::VirtualNode, ...
}

// Hidden replaces redacted values, as CloudTrail writes them.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// Sensitive reports whether a parameter named key holds a secret: its name
// contains secret, password, token or privatekey in any case. App Mesh's
// nextToken (pagination) and clientToken (idempotency) are not secrets.
func Sensitive(key string) bool {
	k := strings.ToLower(key)
	if k == "nexttoken" || k == "clienttoken" {
		return false
	}
	for _, s := range []string{"secret", "password", "token", "privatekey"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// Redact returns a JSON-equivalent copy of v (structs become maps) in which
// the value of every Sensitive key, at any depth, is Hidden. v itself is not
// modified. Values that do not marshal to JSON become nil.
func Redact(v any) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var g any
	if err := dec.Decode(&g); err != nil {
		return nil
	}
	return redactValue(g)
}

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if Sensitive(k) {
				x[k] = Hidden
			} else {
				x[k] = redactValue(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = redactValue(e)
		}
	}
	return v
}
