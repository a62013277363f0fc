package demo

import "strings"

// demoRegion is the region of the demo's server (the server's default),
// which the aws CLI must be given.
const demoRegion = "us-east-1"

// keepHints are the commands `trellis demo --keep` suggests. Each works as
// printed from any directory and shell: the trellis binary by its absolute
// path, and both it and the aws CLI with a region and the server's
// bootstrapped admin credentials file (the demo's server runs with
// authentication on).
func keepHints(bin, gwURL, apiURL, credFile string) []string {
	env := "AWS_DEFAULT_REGION=" + demoRegion + " AWS_REGION=" + demoRegion + " AWS_SHARED_CREDENTIALS_FILE=" + shellQuote(credFile) + " "
	return []string{
		"curl " + gwURL,
		env + "aws appmesh list-meshes --endpoint-url " + apiURL,
		env + shellQuote(bin) + " get routes --mesh color --router color-router --endpoint " + apiURL,
	}
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:@=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
