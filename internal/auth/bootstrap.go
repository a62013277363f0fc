package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// AdminPolicy is the policy the bootstrapped admin gets: everything.
const AdminPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// CredentialsFileName is the file under the data dir that receives the
// bootstrapped admin key, once.
const CredentialsFileName = "admin-credentials"

// Bootstrapped says what Bootstrap did: Path and AccessKeyID are set when it
// created the first admin key (the secret is only in the file).
type Bootstrapped struct {
	Path        string
	AccessKeyID string
	Principal   string
}

// Bootstrap creates the first principal, arn:aws:iam::<account>:user/admin
// with AdminPolicy, and an access key for it, when the store has no
// principal yet. The key is written once, mode 0600, to
// <dataDir>/admin-credentials in the AWS shared-credentials format, so
// AWS_SHARED_CREDENTIALS_FILE can point at it. When another replica wins
// the race to create the principal, it does nothing.
func Bootstrap(ctx context.Context, keys *Keys, accountID, region, dataDir string) (*Bootstrapped, error) {
	n, err := keys.st.Count(ctx, principalPrefix)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		return nil, nil
	}
	arn := "arn:aws:iam::" + accountID + ":user/admin"
	path := filepath.Join(dataDir, CredentialsFileName)
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("bootstrap: the store has no principal but %s exists from an earlier store; move it away to bootstrap a new admin key", path)
	}
	if _, err := keys.CreatePrincipal(ctx, arn); errors.Is(err, ErrExists) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := keys.SetPolicy(ctx, arn, "AdministratorAccess", json.RawMessage(AdminPolicy)); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	creds, err := keys.CreateKey(ctx, arn, 0)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := WriteCredentialsFile(path, creds, region); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return &Bootstrapped{Path: path, AccessKeyID: creds.AccessKeyID, Principal: arn}, nil
}

// WriteCredentialsFile writes creds as a [default] profile of an AWS shared
// credentials file, mode 0600, failing if the file exists.
func WriteCredentialsFile(path string, creds *Credentials, region string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	content := fmt.Sprintf(`# Trellis admin credentials (%s). Use them with
#   export AWS_SHARED_CREDENTIALS_FILE=%s AWS_REGION=%s
# or
#   export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=<aws_secret_access_key below> AWS_REGION=%s
[default]
aws_access_key_id = %s
aws_secret_access_key = %s
`, creds.PrincipalARN, path, region, creds.AccessKeyID, region, creds.AccessKeyID, creds.SecretAccessKey)
	_, werr := f.WriteString(content)
	return errors.Join(werr, f.Sync(), f.Close())
}
