package flows

import (
	"errors"
	"strings"
	"testing"
)

// TestEveryCloudSaysHowToSignIn: every provider's cloud has the command
// that signs in, and NotSignedInError says it in one sentence, with the
// cloud's web shell (signed in already), and never the SDK's text.
func TestEveryCloudSaysHowToSignIn(t *testing.T) {
	t.Parallel()
	want := map[Cloud]string{CloudAWS: "aws configure", CloudAzure: "az login"}
	for _, p := range Providers() {
		c := p.Cloud()
		if c.SignInCommand() == "" {
			t.Errorf("%s: the cloud %s has no sign-in command", p, c)
			continue
		}
		raw := errors.New("failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata")
		e := &NotSignedInError{Cloud: c, Err: raw}
		msg := e.Error()
		if !strings.Contains(msg, c.SignInCommand()) || !strings.Contains(msg, c.Shell()+" is signed in already") {
			t.Errorf("%s: %q lacks the command %q or the shell", c, msg, c.SignInCommand())
		}
		if w, ok := want[c]; ok && !strings.Contains(msg, w) {
			t.Errorf("%s: %q lacks %q", c, msg, w)
		}
		if strings.Contains(msg, "IMDS") || strings.Count(msg, ".") > 1 || strings.Contains(msg, "\n") {
			t.Errorf("%s: not one sentence of ours: %q", c, msg)
		}
		if !errors.Is(e, raw) {
			t.Errorf("%s: the SDK's error is not kept for errors.Is", c)
		}
	}
	e := &NotSignedInError{Cloud: CloudAWS, Command: "aws sso login"}
	if !strings.Contains(e.Error(), "run aws sso login,") || strings.Contains(e.Error(), "aws configure") {
		t.Errorf("the SDK's own fix is not said: %q", e.Error())
	}
}
