// Package awscreds finds AWS credentials and region the way the aws CLI
// does, for Trellis's own clients (the trellis CLI, the sidecar): the
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN variables,
// else the profile (AWS_PROFILE, default "default") of the shared
// credentials file (AWS_SHARED_CREDENTIALS_FILE, default
// ~/.aws/credentials). It is a small subset of aws-sdk-go-v2/config (no SSO,
// no assume-role, no IMDS) that keeps those dependencies out. Stdlib and
// aws-sdk-go-v2/aws only.
package awscreds
