package scripts

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// runEnv runs a script with extra environment variables.
func (c *cloud) runEnv(t *testing.T, sp flows.SetupSpec, opts Options, extra ...string) (string, string, error) {
	t.Helper()
	s, err := Render(sp, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, FileName(sp, opts))
	if err := os.WriteFile(p, []byte(s), 0o700); err != nil {
		t.Fatal(err)
	}
	return fakecloudtest.Run(append(slices.Clone(c.env), extra...), dir, "bash", p)
}

// snapshot is everything a script could change, read through the SDK:
// every key (state, description, policy, rotation), every alias, and the
// service account's IAM user (tags, inline policies, access keys).
func (c *cloud) snapshot(t *testing.T, users ...string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	keys, err := c.kms.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.Keys {
		d, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		rot, err := c.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "key %s %s %q rotation=%v\npolicy %s\n", *k.KeyId, d.KeyMetadata.KeyState, aws.ToString(d.KeyMetadata.Description), rot.KeyRotationEnabled, c.policy(t, *k.KeyId))
	}
	aliases, err := c.kms.ListAliases(ctx, &kms.ListAliasesInput{Limit: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range aliases.Aliases {
		fmt.Fprintf(&b, "alias %s -> %s\n", aws.ToString(a.AliasName), aws.ToString(a.TargetKeyId))
	}
	for _, u := range users {
		name := aws.String(u)
		if _, err := c.iam.GetUser(ctx, &iam.GetUserInput{UserName: name}); err != nil {
			fmt.Fprintf(&b, "user %s: none\n", u)
			continue
		}
		tags, err := c.iam.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: name})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range tags.Tags {
			fmt.Fprintf(&b, "user %s tag %s=%s\n", u, aws.ToString(tg.Key), aws.ToString(tg.Value))
		}
		pols, err := c.iam.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: name})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pols.PolicyNames {
			doc, err := c.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: name, PolicyName: aws.String(p)})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "user %s policy %s %s\n", u, p, aws.ToString(doc.PolicyDocument))
		}
		ak, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: name})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ak.AccessKeyMetadata {
			fmt.Fprintf(&b, "user %s access key %s %s\n", u, aws.ToString(k.AccessKeyId), k.Status)
		}
	}
	return b.String()
}

// existingKey makes a customer key with the given extra statements in
// its policy (appended as they are, so two may share a Sid).
func (c *cloud) existingKey(t *testing.T, stmts ...string) string {
	t.Helper()
	ctx := context.Background()
	k, err := c.kms.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("the customer's key"),
		KeySpec: types.KeySpecSymmetricDefault, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	keyID := *k.KeyMetadata.KeyId
	if len(stmts) > 0 {
		var top map[string]json.RawMessage
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(c.policy(t, keyID)), &top); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(top["Statement"], &list); err != nil {
			t.Fatal(err)
		}
		for _, s := range stmts {
			list = append(list, json.RawMessage(s))
		}
		top["Statement"], _ = json.Marshal(list)
		pol, _ := json.Marshal(top)
		if _, err := c.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &keyID, PolicyName: aws.String("default"), Policy: aws.String(string(pol))}); err != nil {
			t.Fatal(err)
		}
	}
	return keyID
}

var clouds = map[string]func(*testing.T) *cloud{"sandbox": sandboxCloud, "moto": motoCloud}

// TestScriptsDryRunChangeNothing runs every AWS script with
// REKWIZ_DRY_RUN=1, before the setup and after it, against the sandbox
// and moto, and checks the account is the same byte for byte after, and
// that the plan says who is signed in and what would change.
func TestScriptsDryRunChangeNothing(t *testing.T) {
	fakecloudtest.AWSCLI(t)
	fakecloudtest.Tool(t, "jq", "jq")
	for name, start := range clouds {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := start(t)
			n := 0
			for _, p := range []flows.Provider{flows.AWSDelegated, flows.AWSServiceAccount} {
				for _, k := range flows.KeyChoices() {
					n++
					sp := specOf(p, k)
					sp.Domain = "dm-DRY" + strings.Repeat("0", 7) + string(rune('0'+n))
					if k == flows.KeyExisting {
						sp.KeyID = c.existingKey(t)
					}
					t.Run(string(p)+"/"+string(k), func(t *testing.T) { c.dryRuns(t, sp) })
				}
			}
		})
	}
}

func (c *cloud) dryRuns(t *testing.T, sp flows.SetupSpec) {
	user := sp.ServiceAccountUser()
	dry := func(opts Options, want ...string) {
		t.Helper()
		before := c.snapshot(t, user)
		out, errOut, err := c.runEnv(t, sp, opts, "REKWIZ_DRY_RUN=1")
		if err != nil {
			t.Fatalf("dry run (teardown %v): %v\n%s\n%s", opts.Teardown, err, out, errOut)
		}
		if after := c.snapshot(t, user); after != before {
			t.Fatalf("the dry run (teardown %v) changed the account:\nbefore:\n%s\nafter:\n%s\noutput:\n%s", opts.Teardown, before, after, out)
		}
		want = append(want, "Signed in to AWS account "+c.account+" as arn:", "Dry run: nothing was changed.")
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Fatalf("the dry run (teardown %v) does not say %q:\n%s", opts.Teardown, w, out)
			}
		}
		if strings.Contains(out, "(save this for next step)") {
			t.Fatalf("the dry run printed a value to paste:\n%s", out)
		}
	}
	sid := awspolicy.VendorSid(vendor.Slug)
	var fresh []string
	switch {
	case sp.Provider == flows.AWSDelegated:
		fresh = []string{"Would add statement " + sid, "+++ key policy after", `+      "Sid": "` + sid + `"`, "Would create " + sp.AliasName()}
	default:
		fresh = []string{"Would create IAM user " + user + ", tagged rekwiz:domain=" + sp.Domain, "Would put policy " + user, `"kms:ResourceAliases": "` + sp.AliasName() + `"`, "Would create an access key"}
	}
	if sp.Key == flows.KeyNew {
		fresh = append(fresh, "Would create a symmetric encryption key", "Would turn on automatic yearly rotation")
	}
	dry(Options{}, fresh...)

	c.mustRun(t, sp, Options{})
	teardown := []string{"Would delete " + sp.AliasName()}
	if sp.Provider == flows.AWSDelegated {
		teardown = append(teardown, "Would remove statement "+sid, `-      "Sid": "`+sid+`"`)
	} else {
		teardown = append(teardown, "Would delete access key", "Would delete policy "+user, "Would delete IAM user "+user)
	}
	dry(Options{Teardown: true}, teardown...)
	c.mustRun(t, sp, Options{Teardown: true})
}

// TestScriptsNeverOverwriteADifferentStatement: a statement under the
// vendor's Sid that is not rekwiz's stops setup and teardown with both
// statements shown and the account unchanged; REKWIZ_REPLACE_STATEMENT=1
// replaces it; two with the Sid stop even then; the same statement in
// another form is kept by setup and removed by teardown.
func TestScriptsNeverOverwriteADifferentStatement(t *testing.T) {
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
			theirs := []string{narrow, principalRole}
			if c.sb != nil {
				// moto refuses the customer's own calls on a key whose
				// policy has any Deny; the sandbox evaluates it as KMS does.
				theirs = append(theirs, deny)
			}
			for i, theirs := range theirs {
				sp := specFor(flows.KeyExisting)
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
			for _, env := range [][]string{nil, {"REKWIZ_REPLACE_STATEMENT=1"}} {
				for _, opts := range []Options{{}, {Teardown: true}} {
					_, errOut, err := c.runEnv(t, sp, opts, env...)
					if err == nil || !strings.Contains(errOut, "2 statements with Sid "+sid) {
						t.Fatalf("two statements (%v, %+v): %v\n%s", env, opts, err, errOut)
					}
					if c.snapshot(t) != before {
						t.Fatal("a stopped script changed the account")
					}
				}
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
// any change; the user setup makes is tagged; a managed policy attached
// to it (moto) keeps the user at teardown, which says so, and removes
// the alias, the access keys and rekwiz's policy all the same.
func TestServiceAccountScriptsKeepToTheirUser(t *testing.T) {
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

			out := c.mustRun(t, sp, Options{})
			for _, w := range []string{"Created IAM user " + *user + ", tagged rekwiz:domain=" + sp.Domain, "Put policy " + *user + " on " + *user, "Turned on automatic yearly rotation of key"} {
				if !strings.Contains(out, w) {
					t.Fatalf("setup does not say %q:\n%s", w, out)
				}
			}
			keyID := c.aliasTarget(t, sp)
			rot, err := c.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: &keyID})
			if err != nil || !rot.KeyRotationEnabled {
				t.Fatalf("the new key's rotation: %v %v", rot, err)
			}
			out = c.mustRun(t, sp, Options{})
			for _, w := range []string{"IAM user " + *user + " already exists, tagged as rekwiz's.", "Policy " + *user + " is already in place", "Automatic rotation of key " + keyID + " is on already."} {
				if !strings.Contains(out, w) {
					t.Fatalf("the second run does not say %q:\n%s", w, out)
				}
			}
			if c.sb != nil {
				return // the sandbox has no managed policies
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
