package cli

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
)

// DefaultRegion is the signing region when neither AWS_REGION nor
// AWS_DEFAULT_REGION is set (trellis server's default --region).
const DefaultRegion = "us-east-1"

// signing is how the client signs: credentials found like the aws CLI
// finds them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the
// shared credentials file); none found means unsigned requests, which a
// server started with --auth=false accepts on loopback.
type signing struct {
	creds   *aws.Credentials
	region  string
	service string
	signer  *v4.Signer
}

func newSigning(service string) (signing, error) {
	s := signing{region: awscreds.Region(os.Getenv, DefaultRegion), service: service, signer: v4.NewSigner()}
	c, err := awscreds.Resolve(os.Getenv)
	switch {
	case errors.Is(err, awscreds.ErrNoCredentials):
		return s, nil
	case err != nil:
		return s, err
	}
	s.creds = &c
	return s, nil
}

// sign adds SigV4 headers for body to req (nothing without credentials).
func (s signing) sign(req *http.Request, body []byte) error {
	if s.creds == nil {
		return nil
	}
	if err := s.signer.SignHTTP(req.Context(), *s.creds, req, sigv4.HashPayload(body), s.service, s.region, time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	return nil
}
