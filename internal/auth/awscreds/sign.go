package awscreds

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Sign signs r (whose body is body) for service with the credentials and
// region getenv points at (region def when unset). Without credentials it
// leaves r unsigned, which only a server with --auth=false accepts.
func Sign(r *http.Request, body []byte, service string, getenv Lookup, def string) error {
	creds, err := Resolve(getenv)
	if errors.Is(err, ErrNoCredentials) {
		return nil
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, r, hex.EncodeToString(sum[:]), service, Region(getenv, def), time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	return nil
}
