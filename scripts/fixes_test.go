package scripts

import (
	"context"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// TestDryRunOneRule: every script, AWS and Azure, reads REKWIZ_DRY_RUN
// the same way: a value other than 1, 0 or empty stops it (exit 2, naming
// the variable and its values) before anything runs, and 0 is a real run
// in Azure as in AWS.
func TestDryRunOneRule(t *testing.T) {
	t.Parallel()
	for _, v := range variants() {
		s, err := Render(v.spec, v.opts)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", s)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "REKWIZ_DRY_RUN=yes"}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errAs(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "REKWIZ_DRY_RUN must be 1 (a dry run), 0 or unset") {
			t.Errorf("%s with REKWIZ_DRY_RUN=yes: %v\n%s", v.name, err, out)
		}
	}
	for _, v := range variants() {
		if v.spec.Provider != flows.AzureDelegated || v.opts.Teardown {
			continue
		}
		out, calls, _ := runStub(t, v, "REKWIZ_DRY_RUN=0")
		if strings.Contains(out, "Dry run") || !strings.Contains(calls, "CHANGE: az") {
			t.Errorf("%s with REKWIZ_DRY_RUN=0 is not a real run:\n%s\n%s", v.name, out, calls)
		}
	}
}

func errAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// TestAzureDomainTagOfAnotherValue: a key tagged <domain>=<not allow> is
// neither overwritten by set-up nor cleared by teardown; both stop,
// saying so, having changed nothing.
func TestAzureDomainTagOfAnotherValue(t *testing.T) {
	t.Parallel()
	for _, v := range variants() {
		if v.spec.Provider != flows.AzureDelegated || v.spec.Key != flows.KeyExisting {
			continue
		}
		out, calls, err := runStub(t, v, "AZ_TAGVAL=deny")
		if err == nil || !strings.Contains(out, `"deny"`) || !strings.Contains(out, "not allow") || strings.Contains(calls, "CHANGE:") {
			t.Errorf("%s over %s=deny: %v\n%s\n%s", v.name, v.spec.Domain, err, out, calls)
		}
	}
}

// TestListingsAreCheckedUnderSetE: a listing inside `for x in $(...)` or
// `[ -z "$(...)" ]` hides a failing aws call from set -e; the scripts
// assign every listing to a variable first.
func TestListingsAreCheckedUnderSetE(t *testing.T) {
	t.Parallel()
	hidden := regexp.MustCompile(`(?m)(\bin \$\(|\[ -[zn] "\$\((aws|alias_target)|"\$\(alias_target\)")`)
	for _, v := range variants() {
		s, err := Render(v.spec, v.opts)
		if err != nil {
			t.Fatal(err)
		}
		if m := hidden.FindString(s); m != "" {
			t.Errorf("%s hides a listing's failure from set -e: %q", v.name, m)
		}
	}
}

// TestServiceAccountPolicyAndKeyPolicy: against the sandbox, the
// service-account script reads a key policy with a statement for a
// service principal, and never replaces a different inline policy on its
// user without REKWIZ_REPLACE_STATEMENT=1, showing both when it stops.
func TestServiceAccountPolicyAndKeyPolicy(t *testing.T) {
	t.Parallel()
	fakecloudtest.AWSCLI(t)
	fakecloudtest.Tool(t, "jq", "jq")
	ctx := context.Background()
	c := sandboxCloud(t)
	sp := specOf(flows.AWSServiceAccount, flows.KeyExisting)
	sp.Domain = "dm-POLICYDIFF1"
	keyID := c.existingKey(t, `{"Sid":"logs","Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*"}`,
		`{"Sid":"anyone","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}`)
	sp.KeyID = "arn:aws:kms:" + sp.Region + ":" + c.account + ":key/" + keyID
	out := c.mustRun(t, sp, Options{})
	if !strings.Contains(out, "Put policy") {
		t.Fatalf("set-up over a key policy with a service principal:\n%s", out)
	}

	user := aws.String(sp.ServiceAccountUser())
	wider := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`
	if _, err := c.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: user, PolicyDocument: aws.String(wider)}); err != nil {
		t.Fatal(err)
	}
	before := c.snapshot(t, *user)
	out, errOut, err := c.run(t, sp, Options{})
	if err == nil || !strings.Contains(errOut, "already has a policy "+*user) || !strings.Contains(errOut, `"Action": "kms:*"`) || !strings.Contains(errOut, "rekwiz's is:") || !strings.Contains(errOut, "REKWIZ_REPLACE_STATEMENT=1") {
		t.Fatalf("over a different policy: %v\n%s\n%s", err, out, errOut)
	}
	if c.snapshot(t, *user) != before {
		t.Fatal("the stopped script changed the account")
	}
	out, errOut, err = c.runEnv(t, sp, Options{}, "REKWIZ_REPLACE_STATEMENT=1")
	if err != nil || !strings.Contains(out, "replacing the one there") {
		t.Fatalf("with REKWIZ_REPLACE_STATEMENT=1: %v\n%s\n%s", err, out, errOut)
	}
	got, err := c.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: user, PolicyName: user})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(got.PolicyDocument))
	if strings.Contains(doc, `"kms:*"`) || !strings.Contains(doc, "kms:ResourceAliases") {
		t.Fatalf("after replacing, the user's policy is %s", doc)
	}
}
