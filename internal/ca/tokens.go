package ca

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
	"path"
	"strings"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/store"
)

// TokenPrefix is the store prefix of join tokens: TokenPrefix+<id>.
const TokenPrefix = "ca/tokens/"

// tokenTag starts every join token: trellis-jt1.<id>.<secret>.
const tokenTag = "trellis-jt1."

// Sizes of a token's parts, in bytes before encoding.
const (
	tokenIDBytes     = 9  // 12 base64url characters
	tokenSecretBytes = 32 // 43 base64url characters
	// MaxTokenTTL bounds how long a join token may live.
	MaxTokenTTL = 365 * 24 * time.Hour
)

// Token errors; the API answers all of them with the same Forbidden
// message so a caller learns nothing about which tokens exist.
var (
	ErrBadToken      = errors.New("join token malformed")
	ErrTokenUnknown  = errors.New("join token unknown or revoked")
	ErrTokenExpired  = errors.New("join token expired")
	ErrTokenUsed     = errors.New("single-use join token already used")
	ErrTokenMismatch = errors.New("join token does not cover this identity")
)

// storedToken is a join token as kept in the store: the secret only as
// its SHA-256.
type storedToken struct {
	enrol.TokenInfo
	SecretSHA256 string `json:"secretSha256"`
}

// ParseToken splits a join token into its id and secret.
func ParseToken(tok string) (id string, secret []byte, err error) {
	rest, ok := strings.CutPrefix(tok, tokenTag)
	if !ok || len(tok) > 128 {
		return "", nil, ErrBadToken
	}
	id, enc, ok := strings.Cut(rest, ".")
	if !ok {
		return "", nil, ErrBadToken
	}
	rawID, err := base64.RawURLEncoding.Strict().DecodeString(id)
	if err != nil || len(rawID) != tokenIDBytes {
		return "", nil, ErrBadToken
	}
	secret, err = base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || len(secret) != tokenSecretBytes {
		return "", nil, ErrBadToken
	}
	return id, secret, nil
}

func hashSecret(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:])
}

// CreateToken stores a new join token and returns it with its secret (the
// only time the secret exists outside the caller).
func (c *CA) CreateToken(ctx context.Context, req enrol.TokenRequest) (enrol.TokenCreated, error) {
	ttl, err := checkTokenRequest(req)
	if err != nil {
		return enrol.TokenCreated{}, err
	}
	raw := make([]byte, tokenIDBytes+tokenSecretBytes)
	if _, err := rand.Read(raw); err != nil {
		return enrol.TokenCreated{}, fmt.Errorf("token: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:tokenIDBytes])
	secret := raw[tokenIDBytes:]
	now := c.now().UTC().Truncate(time.Second)
	info := enrol.TokenInfo{ID: id, Mesh: req.Mesh, Node: req.Node, NodePattern: req.NodePattern,
		SingleUse: req.SingleUse, Created: now, Expires: now.Add(ttl)}
	b, err := json.Marshal(storedToken{TokenInfo: info, SecretSHA256: hashSecret(secret)})
	if err != nil {
		return enrol.TokenCreated{}, fmt.Errorf("encode token: %w", err)
	}
	key := TokenPrefix + id
	if _, err := c.st.Txn(ctx, []store.Compare{store.KeyAbsent(key)}, []store.Op{store.Put(key, b)}); err != nil {
		return enrol.TokenCreated{}, fmt.Errorf("store token: %w", err)
	}
	return enrol.TokenCreated{TokenInfo: info, Token: tokenTag + id + "." + base64.RawURLEncoding.EncodeToString(secret)}, nil
}

// ErrBadTokenRequest is wrapped by CreateToken's validation errors.
var ErrBadTokenRequest = errors.New("bad token request")

func checkTokenRequest(req enrol.TokenRequest) (time.Duration, error) {
	probe := enrol.ID{TrustDomain: "x", Mesh: req.Mesh, Kind: enrol.KindVirtualNode, Name: "x"}
	if _, err := enrol.ParseID(probe.String()); err != nil {
		return 0, fmt.Errorf("%w: invalid mesh name %q", ErrBadTokenRequest, req.Mesh)
	}
	if (req.Node == "") == (req.NodePattern == "") {
		return 0, fmt.Errorf("%w: give exactly one of node and nodePattern", ErrBadTokenRequest)
	}
	if req.NodePattern != "" {
		if _, err := path.Match(req.NodePattern, ""); err != nil {
			return 0, fmt.Errorf("%w: node pattern: %w", ErrBadTokenRequest, err)
		}
	}
	ttl, err := time.ParseDuration(req.TTL)
	if err != nil || ttl <= 0 || ttl > MaxTokenTTL {
		return 0, fmt.Errorf("%w: ttl %q: want a duration in (0, %s]", ErrBadTokenRequest, req.TTL, MaxTokenTTL)
	}
	return ttl, nil
}

// UseToken checks that tok is a live token covering id (same mesh; the
// node name equal to, or matching the pattern of, the token) and, for a
// single-use token, consumes it atomically: of concurrent uses exactly
// one succeeds.
func (c *CA) UseToken(ctx context.Context, tok string, id enrol.ID) error {
	err := c.useToken(ctx, tok, id, true)
	result := "accepted"
	switch {
	case errors.Is(err, ErrTokenUnknown), errors.Is(err, ErrBadToken):
		result = "unknown"
	case errors.Is(err, ErrTokenExpired):
		result = "expired"
	case errors.Is(err, ErrTokenUsed):
		result = "used"
	case errors.Is(err, ErrTokenMismatch):
		result = "mismatch"
	case err != nil:
		result = "error"
	}
	c.metrics.tokens.WithLabelValues(result).Inc()
	return err
}

// CheckToken is UseToken without consuming a single-use token and
// without counting in trellis_ca_join_tokens_total: it authenticates a
// sidecar's bundle polls, which repeat every 30 s.
func (c *CA) CheckToken(ctx context.Context, tok string, id enrol.ID) error {
	return c.useToken(ctx, tok, id, false)
}

func (c *CA) useToken(ctx context.Context, tok string, id enrol.ID, consume bool) error {
	tid, secret, err := ParseToken(tok)
	if err != nil {
		return err
	}
	kv, err := c.st.Get(ctx, TokenPrefix+tid)
	if errors.Is(err, store.ErrNotFound) {
		return ErrTokenUnknown
	}
	if err != nil {
		return fmt.Errorf("read token: %w", err)
	}
	var st storedToken
	if err := json.Unmarshal(kv.Value, &st); err != nil {
		return fmt.Errorf("decode token %s: %w", tid, err)
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(st.SecretSHA256)) != 1 {
		return ErrTokenUnknown
	}
	if !c.now().Before(st.Expires) {
		return ErrTokenExpired
	}
	if !tokenCovers(st.TokenInfo, id) {
		return ErrTokenMismatch
	}
	if !st.SingleUse || !consume {
		return nil
	}
	_, err = c.st.Txn(ctx, []store.Compare{store.KeyAt(kv.Key, kv.ModRevision)}, []store.Op{store.Del(kv.Key)})
	if errors.Is(err, store.ErrConflict) {
		return ErrTokenUsed
	}
	if err != nil {
		return fmt.Errorf("consume token: %w", err)
	}
	return nil
}

func tokenCovers(t enrol.TokenInfo, id enrol.ID) bool {
	if t.Mesh != id.Mesh {
		return false
	}
	if t.Node != "" {
		return t.Node == id.Name
	}
	ok, err := path.Match(t.NodePattern, id.Name)
	return err == nil && ok
}

// ListTokens lists the live tokens (expired ones are deleted as found).
func (c *CA) ListTokens(ctx context.Context) ([]enrol.TokenInfo, error) {
	kvs, _, err := c.st.List(ctx, TokenPrefix, store.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := []enrol.TokenInfo{}
	now := c.now()
	for _, kv := range kvs {
		var st storedToken
		if err := json.Unmarshal(kv.Value, &st); err != nil {
			return nil, fmt.Errorf("decode token %s: %w", kv.Key, err)
		}
		if !now.Before(st.Expires) {
			// Best effort: a conflict means someone else changed it.
			c.st.Txn(ctx, []store.Compare{store.KeyAt(kv.Key, kv.ModRevision)}, []store.Op{store.Del(kv.Key)})
			continue
		}
		out = append(out, st.TokenInfo)
	}
	return out, nil
}

// RevokeToken deletes a token by id; ErrTokenUnknown if there is none.
func (c *CA) RevokeToken(ctx context.Context, id string) error {
	key := TokenPrefix + id
	kv, err := c.st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return ErrTokenUnknown
	}
	if err != nil {
		return fmt.Errorf("read token: %w", err)
	}
	if _, err := c.st.Txn(ctx, []store.Compare{store.KeyAt(key, kv.ModRevision)}, []store.Op{store.Del(key)}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return ErrTokenUnknown
		}
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}
