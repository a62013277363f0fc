package awscreds

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ErrNoCredentials: neither the variables nor the shared file name a key.
var ErrNoCredentials = errors.New("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE / AWS_SHARED_CREDENTIALS_FILE")

// Lookup reads a variable; os.Getenv in production, a map in tests.
type Lookup func(string) string

// Resolve returns the credentials getenv points at.
func Resolve(getenv Lookup) (aws.Credentials, error) {
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" || secret != "" {
		if id == "" || secret == "" {
			return aws.Credentials{}, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")
		}
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN"), Source: "environment"}, nil
	}
	path := getenv("AWS_SHARED_CREDENTIALS_FILE")
	if path == "" {
		home := getenv("HOME")
		if home == "" {
			return aws.Credentials{}, ErrNoCredentials
		}
		path = filepath.Join(home, ".aws", "credentials")
	}
	profile := getenv("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	return FromFile(path, profile)
}

// FromFile reads one profile of a shared credentials file.
func FromFile(path, profile string) (aws.Credentials, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return aws.Credentials{}, ErrNoCredentials
	}
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("read credentials: %w", err)
	}
	defer f.Close()
	vals := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && strings.HasSuffix(line, "]"):
			section = strings.TrimSpace(strings.TrimPrefix(line[1:len(line)-1], "profile "))
		case section == profile:
			if k, v, ok := strings.Cut(line, "="); ok {
				vals[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return aws.Credentials{}, fmt.Errorf("read credentials %s: %w", path, err)
	}
	c := aws.Credentials{AccessKeyID: vals["aws_access_key_id"], SecretAccessKey: vals["aws_secret_access_key"],
		SessionToken: vals["aws_session_token"], Source: path}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Credentials{}, fmt.Errorf("profile %q of %s has no aws_access_key_id/aws_secret_access_key: %w", profile, path, ErrNoCredentials)
	}
	return c, nil
}

// Region is AWS_REGION, else AWS_DEFAULT_REGION, else def.
func Region(getenv Lookup, def string) string {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return def
}

// Provider is an aws.CredentialsProvider over resolved credentials.
type Provider struct{ Creds aws.Credentials }

// Retrieve returns the credentials.
func (p Provider) Retrieve(context.Context) (aws.Credentials, error) { return p.Creds, nil }
