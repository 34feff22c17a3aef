package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noSignIn empties the environment of every AWS and Azure sign-in: no
// variables, no shared files, no instance metadata, Azure's default
// chain limited to its environment source (so nothing calls az).
func noSignIn(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_FEDERATED_TOKEN_FILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
}

// TestVerifyNotSignedIn: verify where nobody is signed in ends with exit
// code 4 and one line: the sentence and the command that signs in, not
// the SDK's credential chain; no check is run or printed.
func TestVerifyNotSignedIn(t *testing.T) {
	noSignIn(t)
	for _, c := range []struct {
		args []string
		fix  string
	}{
		{[]string{"--provider", "aws-delegated", "--key-arn", "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox"}, "aws configure"},
		{[]string{"--provider", "azure-delegated", "--key-url", "https://contoso-hsm.managedhsm.azure.net/keys/rek-dm-LCAJVnUE94B",
			"--tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47"}, "az login"},
	} {
		args := append([]string{"verify", "--domain", "dm-LCAJVnUE94B"}, c.args...)
		code, stdout, stderr := execWith(t, isolatedDeps(t), false, args...)
		if code != exitSignIn {
			t.Errorf("%s: exit %d, want %d; stderr:\n%s", c.args[1], code, exitSignIn, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "rekwiz: you are not signed in to") || !strings.Contains(last, "run "+c.fix) {
			t.Errorf("%s: stderr does not end with the sentence and %q:\n%s", c.args[1], c.fix, stderr)
		}
		for _, raw := range []string{"IMDS", "failed to", "DefaultAzureCredential", "EnvironmentCredential", "PASS", "FAIL"} {
			if strings.Contains(stderr+stdout, raw) {
				t.Errorf("%s: output has %q:\n%s%s", c.args[1], raw, stdout, stderr)
			}
		}
	}
}

// TestVerifyServiceAccountWithAnotherKeyInTheEnvironment: the access key
// ID given is not the one the environment signs in with, whose secret
// AWS_SECRET_ACCESS_KEY holds: verify says so plainly (exit 2) before
// calling AWS, instead of AWS's "signature does not match".
func TestVerifyServiceAccountWithAnotherKeyInTheEnvironment(t *testing.T) {
	noSignIn(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAADMINADMINADMIN1")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	code, _, stderr := execWith(t, isolatedDeps(t), false, "verify", "--provider", "aws-service-account", "--domain", "dm-LCAJVnUE94B",
		"--key-arn", "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox/Example", "--access-key-id", "AKIAIOSFODNN7EXAMPLE")
	if code != exitUsage {
		t.Errorf("exit %d, want %d:\n%s", code, exitUsage, stderr)
	}
	for _, want := range []string{"--access-key-id AKIAIOSFODNN7EXAMPLE is not the access key in your environment (AWS_ACCESS_KEY_ID=AKIAADMINADMINADMIN1)",
		"unset AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "wJalrXUtnFEMI") {
		t.Errorf("the secret is on stderr:\n%s", stderr)
	}
	// The same key in both places is what a service account's run looks
	// like: no complaint (the check then runs, and fails on the network
	// here, which is not this test's concern).
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	_, _, stderr = execWith(t, isolatedDeps(t), false, "verify", "--provider", "aws-service-account", "--domain", "dm-LCAJVnUE94B", "--wait", "0",
		"--key-arn", "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox/Example", "--access-key-id", "AKIAIOSFODNN7EXAMPLE")
	if strings.Contains(stderr, "is not the access key in your environment") {
		t.Errorf("complained about the same key:\n%s", stderr)
	}
}

// TestHelpListsExitCodes: rekwiz's and verify's help say every exit
// code, 4 among them.
func TestHelpListsExitCodes(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"verify", "--help"}} {
		code, stdout, _ := execWith(t, isolatedDeps(t), false, args...)
		flat := strings.Join(strings.Fields(stdout), " ")
		if code != exitOK || !strings.Contains(flat, "Exit codes: 0 success, 1 a pairing check failed, 2 bad input or usage, 4 not signed in") || !strings.Contains(flat, "130 interrupted") {
			t.Errorf("%v: exit %d, help lacks the exit codes:\n%s", args, code, stdout)
		}
	}
}
