package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
	"github.com/trellis-mesh/trellis/internal/store"
)

// Store layout, under its own prefix (the App Mesh and registry layouts are
// untouched):
//
//	auth/principal/<principal ARN>   Principal (with its attached policies)
//	auth/key/<access key id>         Key (secret sealed with the auth key file)
const (
	KeyPrefix       = "auth/"
	principalPrefix = KeyPrefix + "principal/"
	keyPrefix       = KeyPrefix + "key/"
)

// Sentinel errors of the key store.
var (
	ErrNotFound = errors.New("auth: not found")
	ErrExists   = errors.New("auth: already exists")
	ErrInvalid  = errors.New("auth: invalid argument")
)

// Key statuses, as IAM spells them.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
)

// Principal is an IAM-style user or role: arn:aws:iam::<account>:user/<name>
// or ...:role/<name>. Policies maps a policy name to its JSON document.
type Principal struct {
	ARN      string                     `json:"arn"`
	Created  time.Time                  `json:"created"`
	Policies map[string]json.RawMessage `json:"policies,omitempty"`

	// prepared: docs and resourceTag hold Policies as documents() returns
	// them (the Mirror prepares each principal it holds once).
	prepared    bool
	docs        []json.RawMessage
	resourceTag bool
}

// Key is an access key as stored. SealedSecret is never returned by the
// admin API; SessionTokenHash is the SHA-256 of the session token of
// temporary credentials (the token itself is not kept).
type Key struct {
	AccessKeyID      string     `json:"accessKeyId"`
	PrincipalARN     string     `json:"principalArn"`
	Status           string     `json:"status"`
	Created          time.Time  `json:"created"`
	Expiration       *time.Time `json:"expiration,omitempty"`
	SealedSecret     []byte     `json:"sealedSecret,omitempty"`
	SessionTokenHash string     `json:"sessionTokenHash,omitempty"`
}

// Credentials are a new key as handed out once, secret included.
type Credentials struct {
	AccessKeyID     string     `json:"AccessKeyId"`
	SecretAccessKey string     `json:"SecretAccessKey"`
	SessionToken    string     `json:"SessionToken,omitempty"`
	Expiration      *time.Time `json:"Expiration,omitempty"`
	PrincipalARN    string     `json:"PrincipalArn"`
}

// Keys keeps principals and keys in the store, so every replica sharing the
// store shares them. It holds no cache: every lookup reads the store (the
// middleware reads through a Mirror instead).
type Keys struct {
	st     store.Store
	sealer *Sealer
	now    func() time.Time
}

// NewKeys returns the key store over st; secrets are sealed with sealer.
func NewKeys(st store.Store, sealer *Sealer) *Keys {
	return &Keys{st: st, sealer: sealer, now: time.Now}
}

var principalRE = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:(user|role)/[\w+=,.@/-]{1,512}$`)

// ValidPrincipalARN reports whether arn names an IAM user or role.
func ValidPrincipalARN(arn string) bool { return principalRE.MatchString(arn) }

// CreatePrincipal stores a new principal; ErrExists if it is there already.
func (k *Keys) CreatePrincipal(ctx context.Context, arn string) (*Principal, error) {
	if !ValidPrincipalARN(arn) {
		return nil, fmt.Errorf("%w: principal must be arn:aws:iam::<12-digit account>:user/<name> or role/<name>, got %q", ErrInvalid, arn)
	}
	p := &Principal{ARN: arn, Created: k.now().UTC()}
	b, _ := json.Marshal(p)
	_, err := k.st.Txn(ctx, []store.Compare{store.KeyAbsent(principalPrefix + arn)}, []store.Op{store.Put(principalPrefix+arn, b)})
	if errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("%w: principal %s", ErrExists, arn)
	}
	if err != nil {
		return nil, fmt.Errorf("create principal: %w", err)
	}
	return p, nil
}

// Principal reads one principal.
func (k *Keys) Principal(ctx context.Context, arn string) (*Principal, int64, error) {
	kv, err := k.st.Get(ctx, principalPrefix+arn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, fmt.Errorf("%w: principal %s", ErrNotFound, arn)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read principal: %w", err)
	}
	var p Principal
	if err := json.Unmarshal(kv.Value, &p); err != nil {
		return nil, 0, fmt.Errorf("decode principal %s: %w", arn, err)
	}
	return &p, kv.ModRevision, nil
}

// Principals lists every principal, sorted by ARN.
func (k *Keys) Principals(ctx context.Context) ([]*Principal, error) {
	kvs, _, err := k.st.List(ctx, principalPrefix, store.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list principals: %w", err)
	}
	out := make([]*Principal, 0, len(kvs))
	for _, kv := range kvs {
		var p Principal
		if err := json.Unmarshal(kv.Value, &p); err != nil {
			return nil, fmt.Errorf("decode principal %s: %w", kv.Key, err)
		}
		out = append(out, &p)
	}
	return out, nil
}

// SetPolicy attaches (doc non-nil) or detaches (doc nil) a named policy,
// with optimistic concurrency on the principal's record.
func (k *Keys) SetPolicy(ctx context.Context, arn, name string, doc json.RawMessage) error {
	if name == "" || strings.ContainsAny(name, "/ ") {
		return fmt.Errorf("%w: policy name must be non-empty without '/' or spaces", ErrInvalid)
	}
	for {
		p, rev, err := k.Principal(ctx, arn)
		if err != nil {
			return err
		}
		if doc == nil {
			if _, ok := p.Policies[name]; !ok {
				return fmt.Errorf("%w: policy %s on %s", ErrNotFound, name, arn)
			}
			delete(p.Policies, name)
		} else {
			if p.Policies == nil {
				p.Policies = map[string]json.RawMessage{}
			}
			p.Policies[name] = doc
		}
		b, _ := json.Marshal(p)
		_, err = k.st.Txn(ctx, []store.Compare{store.KeyAt(principalPrefix+arn, rev)}, []store.Op{store.Put(principalPrefix+arn, b)})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
}

// CreateKey makes a new key for an existing principal. A positive ttl makes
// temporary credentials: a session token is issued and the key expires.
func (k *Keys) CreateKey(ctx context.Context, principalARN string, ttl time.Duration) (*Credentials, error) {
	if _, _, err := k.Principal(ctx, principalARN); err != nil {
		return nil, err
	}
	prefix := "AKIA"
	if ttl > 0 {
		prefix = "ASIA"
	}
	c := &Credentials{AccessKeyID: prefix + randomID(16), SecretAccessKey: randomSecret(30), PrincipalARN: principalARN}
	key := Key{AccessKeyID: c.AccessKeyID, PrincipalARN: principalARN, Status: StatusActive, Created: k.now().UTC(),
		SealedSecret: k.sealer.Seal(c.AccessKeyID, c.SecretAccessKey)}
	if ttl > 0 {
		c.SessionToken = randomSecret(96)
		exp := key.Created.Add(ttl).Truncate(time.Second)
		c.Expiration, key.Expiration = &exp, &exp
		key.SessionTokenHash = tokenHash(c.SessionToken)
	}
	b, _ := json.Marshal(key)
	_, err := k.st.Txn(ctx, []store.Compare{store.KeyAbsent(keyPrefix + c.AccessKeyID)}, []store.Op{store.Put(keyPrefix+c.AccessKeyID, b)})
	if err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	return c, nil
}

// Key reads one key record (secret still sealed).
func (k *Keys) Key(ctx context.Context, akid string) (*Key, int64, error) {
	kv, err := k.st.Get(ctx, keyPrefix+akid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, fmt.Errorf("%w: access key %s", ErrNotFound, akid)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read key: %w", err)
	}
	var key Key
	if err := json.Unmarshal(kv.Value, &key); err != nil {
		return nil, 0, fmt.Errorf("decode key %s: %w", akid, err)
	}
	return &key, kv.ModRevision, nil
}

// ListKeys lists keys (without secrets), of one principal when principalARN
// is not empty.
func (k *Keys) ListKeys(ctx context.Context, principalARN string) ([]*Key, error) {
	kvs, _, err := k.st.List(ctx, keyPrefix, store.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	out := []*Key{}
	for _, kv := range kvs {
		var key Key
		if err := json.Unmarshal(kv.Value, &key); err != nil {
			return nil, fmt.Errorf("decode key %s: %w", kv.Key, err)
		}
		if principalARN == "" || key.PrincipalARN == principalARN {
			key.SealedSecret, key.SessionTokenHash = nil, ""
			out = append(out, &key)
		}
	}
	return out, nil
}

// SetKeyStatus makes a key Active or Inactive.
func (k *Keys) SetKeyStatus(ctx context.Context, akid, status string) error {
	if status != StatusActive && status != StatusInactive {
		return fmt.Errorf("%w: status must be Active or Inactive", ErrInvalid)
	}
	for {
		key, rev, err := k.Key(ctx, akid)
		if err != nil {
			return err
		}
		key.Status = status
		b, _ := json.Marshal(key)
		_, err = k.st.Txn(ctx, []store.Compare{store.KeyAt(keyPrefix+akid, rev)}, []store.Op{store.Put(keyPrefix+akid, b)})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
}

// DeleteKey removes a key.
func (k *Keys) DeleteKey(ctx context.Context, akid string) error {
	if _, _, err := k.Key(ctx, akid); err != nil {
		return err
	}
	_, err := k.st.Txn(ctx, nil, []store.Op{store.Del(keyPrefix + akid)})
	return err
}

// Secret returns the unsealed secret of an active, unexpired key whose
// session token (if it has one) matches token. Failures are *sigv4-style
// codes via the caller: ErrNotFound (unknown or inactive key, wrong token)
// or errExpired.
func (k *Keys) Secret(ctx context.Context, akid, token string) (string, *Key, error) {
	key, _, err := k.Key(ctx, akid)
	if err != nil {
		return "", nil, err
	}
	if err := usable(key, token, k.now()); err != nil {
		return "", nil, err
	}
	secret, err := k.sealer.Open(akid, key.SealedSecret)
	if err != nil {
		return "", nil, err
	}
	return secret, key, nil
}

// SigningKey is the SigV4 signing key of the key's secret for a scope.
func (k *Keys) SigningKey(ctx context.Context, akid, token, date, region, service string) (*sigv4.Key, *Key, error) {
	secret, key, err := k.Secret(ctx, akid, token)
	if err != nil {
		return nil, nil, err
	}
	return sigv4.DeriveKey(secret, date, region, service), key, nil
}

// usable checks a key's status, session token and expiry at now.
func usable(key *Key, token string, now time.Time) error {
	if key.Status != StatusActive {
		return fmt.Errorf("%w: access key %s is inactive", ErrNotFound, key.AccessKeyID)
	}
	if (key.SessionTokenHash != "" || token != "") &&
		subtle.ConstantTimeCompare([]byte(key.SessionTokenHash), []byte(tokenHash(token))) != 1 {
		return fmt.Errorf("%w: session token does not match access key %s", ErrNotFound, key.AccessKeyID)
	}
	if key.Expiration != nil && now.After(*key.Expiration) {
		return errExpired
	}
	return nil
}

var errExpired = errors.New("auth: temporary credentials expired")

func tokenHash(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// randomID is n upper-case base32-ish characters (A-Z, 2-7), like IAM ids.
func randomID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b)
}

// randomSecret is n random bytes in base64 (IAM secrets are 40 characters).
func randomSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
