package scripts

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// TestScriptsNeverOverwriteADifferentStatement: a statement under the
// vendor's Sid that is not rekwiz's stops setup and teardown with both
// statements shown and the account unchanged; REKWIZ_REPLACE_STATEMENT=1
// replaces it; two with the Sid stop setup and teardown even with it; the
// same statement in another form is kept by setup and removed by
// teardown.
//
// The scripts compare statements with one jq function (ours) over the
// policy each cloud returns. So each kind of difference (a condition, a
// narrower principal, a Deny) stops a setup on the sandbox, and one
// kind also goes through the teardown's refusal and the replacement,
// on both clouds (moto's answers are AWS's formats). Two statements
// with the Sid are refused before REKWIZ_REPLACE_STATEMENT is read: with
// it set, setup and teardown run on the sandbox, setup on moto. The
// same statement in another form is a sandbox run; on moto the second
// setup and the teardown of TestAWSScriptsEndToEnd find rekwiz's own.
func TestScriptsNeverOverwriteADifferentStatement(t *testing.T) {
	t.Parallel()
	fakecloudtest.AWSCLI(t)
	fakecloudtest.Tool(t, "jq", "jq")
	for name, start := range clouds {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := start(t)
			sid := awspolicy.VendorSid(vendor.Slug)
			principal := vendor.AWSPrincipal("aws")
			same := `{"Sid":"` + sid + `","Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":["kms:ReEncryptTo","kms:ReEncryptFrom","kms:Decrypt","kms:GenerateDataKeyWithoutPlaintext","kms:DescribeKey"],"Resource":"*"}`
			deny := strings.Replace(same, `"Allow"`, `"Deny"`, 1)
			narrow := strings.Replace(same, `"Resource"`, `"Condition":{"StringEquals":{"kms:EncryptionContext:app":"x"}},"Resource"`, 1)

			principalRole := strings.Replace(same, principal, "arn:aws:iam::999988887777:role/only-this", 1)
			theirs := []string{narrow}
			if c.sb != nil {
				// moto refuses the customer's own calls on a key whose
				// policy has any Deny; the sandbox evaluates it as KMS does.
				theirs = append(theirs, principalRole, deny)
			}
			for i, theirs := range theirs {
				sp := specFor(flows.KeyExisting)
				full := i == 0 // the teardown's refusal and the replacement
				sp.Domain = fmt.Sprintf("dm-CONFLICT%03d", i)
				keyID := c.existingKey(t, theirs)
				sp.KeyID = keyID
				before := c.snapshot(t)
				out, errOut, err := c.run(t, sp, Options{})
				if err == nil || !strings.Contains(errOut, "is not the one rekwiz writes; nothing was changed") || !strings.Contains(errOut, "REKWIZ_REPLACE_STATEMENT=1") {
					t.Fatalf("setup over a different statement: %v\n%s\n%s", err, out, errOut)
				}
				// Both statements are shown, pretty-printed.
				if !strings.Contains(errOut, "The statement rekwiz writes:\n{\n  \"Sid\": \""+sid+"\",\n  \"Effect\": \"Allow\"") || !strings.Contains(errOut, "The statement "+sid+" in the key policy of "+keyID+":\n{") {
					t.Fatalf("the statements are not shown:\n%s", errOut)
				}
				if c.snapshot(t) != before {
					t.Fatal("the stopped setup changed the account")
				}
				if !full {
					continue
				}
				// Teardown leaves it too.
				out, errOut, err = c.run(t, sp, Options{Teardown: true})
				if err == nil || !strings.Contains(errOut, "the teardown leaves it") || c.snapshot(t) != before {
					t.Fatalf("teardown over a different statement: %v\n%s\n%s", err, out, errOut)
				}
				// The customer confirms: it is replaced.
				out, errOut, err = c.runEnv(t, sp, Options{}, "REKWIZ_REPLACE_STATEMENT=1")
				if err != nil || !strings.Contains(out, "Replaced statement "+sid) {
					t.Fatalf("replace: %v\n%s\n%s", err, out, errOut)
				}
				want, _ := json.Marshal(awspolicy.VendorStatement(sid, principal))
				assertStatement(t, c.policy(t, keyID), sid, want)
			}

			// Two statements with the Sid: nothing, even with REPLACE.
			sp := specFor(flows.KeyExisting)
			sp.Domain = "dm-TWOSIDS0001"
			sp.KeyID = c.existingKey(t, same, same)
			before := c.snapshot(t)
			runs := []Options{{}, {Teardown: true}}
			if c.sb == nil {
				runs = runs[:1]
			}
			for _, opts := range runs {
				_, errOut, err := c.runEnv(t, sp, opts, "REKWIZ_REPLACE_STATEMENT=1")
				if err == nil || !strings.Contains(errOut, "2 statements with Sid "+sid) {
					t.Fatalf("two statements (%+v): %v\n%s", opts, err, errOut)
				}
				if c.snapshot(t) != before {
					t.Fatal("a stopped script changed the account")
				}
			}
			if c.sb == nil {
				return
			}

			// The same statement in another form: kept, then removed.
			sp.Domain = "dm-SAMESID0001"
			sp.KeyID = c.existingKey(t, same)
			keyPolicy := c.policy(t, sp.KeyID)
			out := c.mustRun(t, sp, Options{})
			if !strings.Contains(out, "already has statement "+sid) || c.policy(t, sp.KeyID) != keyPolicy {
				t.Fatalf("the same statement in another form was rewritten:\n%s", out)
			}
			out = c.mustRun(t, sp, Options{Teardown: true})
			if !strings.Contains(out, "Removed statement "+sid) || strings.Contains(c.policy(t, sp.KeyID), sid) {
				t.Fatalf("teardown of the same statement in another form:\n%s", out)
			}
		})
	}
}

// TestServiceAccountScriptsKeepToTheirUser: a user by the service
// account's name without rekwiz's tags stops setup and teardown before
// any change (on both clouds: each answers the user's tags its own way);
// a managed policy attached to the user rekwiz made (moto: the sandbox
// has none) keeps the user at teardown, which says so, and removes the
// alias, the access keys and rekwiz's policy all the same. That setup
// tags the user it makes, says so and turns on the new key's rotation,
// and a second run finds all of it in place: TestAWSScriptsEndToEnd
// proves those on every cloud.
func TestServiceAccountScriptsKeepToTheirUser(t *testing.T) {
	t.Parallel()
	fakecloudtest.AWSCLI(t)
	fakecloudtest.Tool(t, "jq", "jq")
	for name, start := range clouds {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := start(t)
			sp := specOf(flows.AWSServiceAccount, flows.KeyNew)
			sp.Domain = "dm-THEIRUSER01"
			user := aws.String(sp.ServiceAccountUser())
			if _, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: user}); err != nil {
				t.Fatal(err)
			}
			before := c.snapshot(t, *user)
			for _, opts := range []Options{{}, {Teardown: true}} {
				out, errOut, err := c.run(t, sp, opts)
				if err == nil || !strings.Contains(errOut, "exists without the tags rekwiz:domain="+sp.Domain) || !strings.Contains(errOut, "aws iam tag-user") {
					t.Fatalf("over a user rekwiz did not make (%+v): %v\n%s\n%s", opts, err, out, errOut)
				}
				if c.snapshot(t, *user) != before {
					t.Fatal("the stopped script changed the account")
				}
			}
			if _, err := c.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user}); err != nil {
				t.Fatal(err)
			}

			if c.sb != nil {
				return // the sandbox has no managed policies
			}

			out := c.mustRun(t, sp, Options{})
			if !strings.Contains(out, "Created IAM user "+*user+", tagged rekwiz:domain="+sp.Domain) {
				t.Fatalf("setup once the name is free:\n%s", out)
			}
			pol, err := c.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("their-policy"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: pol.Policy.Arn}); err != nil {
				t.Fatal(err)
			}
			out, errOut, err := c.run(t, sp, Options{Teardown: true})
			if err == nil || !strings.Contains(errOut, "managed policy "+*pol.Policy.Arn+" is attached to it") || !strings.Contains(errOut, "aws iam detach-user-policy") {
				t.Fatalf("teardown of a user with a managed policy: %v\n%s\n%s", err, out, errOut)
			}
			if c.aliasTarget(t, sp) != "" {
				t.Fatal("the stopped teardown left the alias")
			}
			snap := c.snapshot(t, *user)
			if strings.Contains(snap, "access key") || strings.Contains(snap, "policy "+*user) || !strings.Contains(snap, "tag rekwiz:domain") {
				t.Fatalf("after the stopped teardown:\n%s", snap)
			}
			if _, err := c.iam.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: pol.Policy.Arn}); err != nil {
				t.Fatal(err)
			}
			out = c.mustRun(t, sp, Options{Teardown: true})
			if !strings.Contains(out, "Deleted IAM user "+*user) {
				t.Fatalf("teardown once the user is free:\n%s", out)
			}
		})
	}
}
