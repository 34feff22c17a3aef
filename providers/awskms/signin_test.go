package awskms_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
)

const signInAlias = "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox"

// noAWSSignIn is the AWS SDK's default configuration where nothing signs
// in: no variables, no shared files, no instance metadata.
func noAWSSignIn(t *testing.T) aws.Config {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "us-east-1")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// wantSignInSentence fails unless s is our sentence with the fix, and
// none of the SDK's credential chain.
func wantSignInSentence(t *testing.T, s, fix string) {
	t.Helper()
	if !strings.Contains(s, "not signed in to AWS") || !strings.Contains(s, fix) {
		t.Errorf("%q does not say: not signed in, run %s", s, fix)
	}
	for _, raw := range []string{"IMDS", "failed to", "operation error", "get identity", "cached credentials"} {
		if strings.Contains(s, raw) {
			t.Errorf("%q has the SDK's text %q", s, raw)
		}
	}
}

// TestNotSignedInToAWS: with the SDK's real default chain and nothing to
// sign in with, the check says so before it runs (SignedIn), and the
// credentials check says it in one sentence with the command, whether
// or not the configuration was marked with SignInAware.
func TestNotSignedInToAWS(t *testing.T) {
	cfg := noAWSSignIn(t)
	tg := target(t, signInAlias)
	err := awskms.NewPairing(cfg).SignedIn(context.Background(), tg)
	var ns *flows.NotSignedInError
	if !errors.As(err, &ns) {
		t.Fatalf("SignedIn = %v, want a NotSignedInError", err)
	}
	wantSignInSentence(t, err.Error(), "aws configure")
	for name, c := range map[string]aws.Config{"marked": awskms.SignInAware(cfg), "as loaded": cfg} {
		got := awskms.NewPairing(c, awskms.WithWait(0)).Run(context.Background(), tg, func(flows.Check) {})
		for _, ch := range got {
			if ch.ID != awskms.CheckCredentials {
				continue
			}
			if ch.Status != flows.StatusFail {
				t.Errorf("%s: credentials check %s", name, ch.Status)
			}
			wantSignInSentence(t, ch.Detail+"; "+ch.Remedy, "aws configure")
		}
	}
}

// TestExpiredSSOSession: an AWS SSO sign-in whose cached token expired
// (the real ssocreds provider reading its token file) says to run aws
// sso login.
func TestExpiredSSOSession(t *testing.T) {
	t.Parallel()
	token := filepath.Join(t.TempDir(), "token.json")
	if err := os.WriteFile(token, []byte(`{"accessToken":"x","expiresAt":"2020-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// No SSO client: an expired token is refused before any call.
	provider := ssocreds.New(nil, "111122223333", "admin", "https://example.awsapps.com/start",
		func(o *ssocreds.Options) { o.CachedTokenFilepath = token })
	cfg := aws.Config{Region: "us-east-1", Credentials: aws.NewCredentialsCache(provider)}
	err := awskms.NewPairing(cfg).SignedIn(context.Background(), target(t, signInAlias))
	if err == nil {
		t.Fatal("SignedIn = nil with an expired SSO session")
	}
	wantSignInSentence(t, err.Error(), "run aws sso login,")
}

// TestServiceAccountNeedsNoSignIn: a service account's check runs with
// its own access key, so no sign-in is asked for.
func TestServiceAccountNeedsNoSignIn(t *testing.T) {
	cfg := noAWSSignIn(t)
	a, _, err := flows.ParseAliasARN(signInAlias + "/Example")
	if err != nil {
		t.Fatal(err)
	}
	tg := flows.Target{Provider: flows.AWSServiceAccount, Domain: domain, Vendor: target(t, signInAlias).Vendor, AliasARN: a,
		AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	if err := awskms.NewPairing(cfg).SignedIn(context.Background(), tg); err != nil {
		t.Errorf("SignedIn = %v", err)
	}
}

// TestSetupNotSignedIn: "set it up for me" with nobody signed in stops
// on its first call with the sentence, in its plan, its event and its
// error.
func TestSetupNotSignedIn(t *testing.T) {
	cfg := awskms.SignInAware(noAWSSignIn(t))
	spec := flows.SetupSpec{Provider: flows.AWSDelegated, Key: flows.KeyNew, Domain: domain, Region: "us-east-1", Vendor: target(t, signInAlias).Vendor}
	s := awskms.NewSetup(cfg)
	_, err := s.Plan(context.Background(), spec)
	if err == nil {
		t.Fatal("Plan: no error")
	}
	wantSignInSentence(t, err.Error(), "aws configure")
	var events []flows.SetupEvent
	_, err = s.Run(context.Background(), spec, func(ev flows.SetupEvent) { events = append(events, ev) })
	if err == nil || len(events) == 0 || events[len(events)-1].Err == nil {
		t.Fatalf("Run: %v, events %v", err, events)
	}
	wantSignInSentence(t, err.Error(), "aws configure")
	wantSignInSentence(t, events[len(events)-1].Err.Error(), "aws configure")
}
