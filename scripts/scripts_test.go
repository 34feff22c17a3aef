package scripts

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/flows/flowtest"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
	"github.com/rekwiz/rekwiz/providers/sandbox"
	"github.com/rekwiz/rekwiz/providers/sandbox/sandboxtest"
)

func golden(t *testing.T, name, got string) { flowtest.Golden(t, filepath.Join("scripts", name), got) }

var vendor = sandboxtest.Vendor

func specFor(k flows.KeyChoice) flows.SetupSpec {
	sp := flows.SetupSpec{Provider: flows.AWSDelegated, Key: k, Domain: "dm-LCAJVnUE94B", Vendor: vendor, Region: "us-east-1"}
	if k == flows.KeyExisting {
		sp.KeyID = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	}
	return sp
}

type variant struct {
	name string
	spec flows.SetupSpec
	opts Options
}

func variants() []variant {
	placeholder := specFor(flows.KeyNew)
	placeholder.Vendor.Placeholder = true
	return []variant{
		{"aws-delegated-new.sh", specFor(flows.KeyNew), Options{}},
		{"aws-delegated-existing.sh", specFor(flows.KeyExisting), Options{}},
		{"aws-delegated-new-placeholder-vendor.sh", placeholder, Options{}},
	}
}

func TestGolden(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			got, err := Render(v.spec, v.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, v.name, got)
		})
	}
}

func TestPlaceholderWarning(t *testing.T) {
	sp := specFor(flows.KeyNew)
	sp.Vendor.Placeholder = true
	warned, _ := Render(sp, Options{})
	demo, _ := Render(sp, Options{Demo: true})
	real, _ := Render(specFor(flows.KeyNew), Options{})
	if !strings.Contains(warned, "WARNING: this script uses rekwiz's built-in sandbox vendor") {
		t.Fatal("no warning for the placeholder vendor outside the demo")
	}
	if strings.Contains(demo, "WARNING") || strings.Contains(real, "WARNING") {
		t.Fatal("warning in the demo or for a real vendor")
	}
}

func TestScriptsAreStrictAndShellcheckClean(t *testing.T) {
	shellcheck := sandboxtest.Tool(t, "shellcheck", "shellcheck")
	dir := t.TempDir()
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			s, err := Render(v.spec, v.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(s, "\nset -euo pipefail\n") || !strings.Contains(s, "\ntrap on_error ERR\n") {
				t.Fatal("script is not strict")
			}
			lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
			if last := lines[len(lines)-1]; last != `echo "Key alias (save this for next step): ${ALIAS_ARN}"` {
				t.Fatalf("last line: %s", last)
			}
			for i, l := range lines {
				// A value's assignment cannot be split; everything else fits.
				if len([]rune(l)) > 80 && !strings.HasPrefix(l, "readonly ") {
					t.Errorf("line %d is %d columns: %s", i+1, len([]rune(l)), l)
				}
			}
			p := filepath.Join(dir, v.name)
			if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
				t.Fatalf("bash -n: %v\n%s", err, out)
			}
			if out, err := exec.Command(shellcheck, "--severity=style", p).CombinedOutput(); err != nil {
				t.Fatalf("shellcheck: %v\n%s", err, out)
			}
		})
	}
}

func TestHostileValuesAreRefused(t *testing.T) {
	tests := []struct {
		field flows.Field
		set   func(*flows.SetupSpec, string)
		value string
	}{
		{flows.FieldDomain, func(s *flows.SetupSpec, v string) { s.Domain = v }, "dm-$(id)abcdef"},
		{flows.FieldDomain, func(s *flows.SetupSpec, v string) { s.Domain = v }, "dm-`id`abcdefg"},
		{flows.FieldDomain, func(s *flows.SetupSpec, v string) { s.Domain = v }, "dm-LCAJVnUE94B'; rm -rf ~; '"},
		{flows.FieldDomain, func(s *flows.SetupSpec, v string) { s.Domain = v }, "dm-LCAJVnUE94B\necho pwned"},
		{flows.FieldDomain, func(s *flows.SetupSpec, v string) { s.Domain = v }, "dm-LCAJVnUE94Β"}, // Greek capital beta
		{flows.FieldRegion, func(s *flows.SetupSpec, v string) { s.Region = v }, "us-east-1 && curl evil"},
		{flows.FieldRegion, func(s *flows.SetupSpec, v string) { s.Region = v }, "us-*"},
		{flows.FieldRegion, func(s *flows.SetupSpec, v string) { s.Region = v }, ""},
		{flows.FieldRegion, func(s *flows.SetupSpec, v string) { s.Region = v }, strings.Repeat("a", 10_000)},
		{flows.FieldKeyID, func(s *flows.SetupSpec, v string) { s.Key, s.KeyID = flows.KeyExisting, v }, `1234abcd-12ab-34cd-56ef-1234567890ab"`},
		{flows.FieldKeyID, func(s *flows.SetupSpec, v string) { s.Key, s.KeyID = flows.KeyExisting, v }, "1234abcd-12ab-34cd-56ef-1234567890ab; id"},
	}
	for _, tt := range tests {
		sp := specFor(flows.KeyNew)
		tt.set(&sp, tt.value)
		_, err := Render(sp, Options{})
		var fe flows.FieldErrors
		if !errors.As(err, &fe) || fe.For(tt.field) == nil {
			t.Errorf("%s = %q: err = %v, want an error naming %s", tt.field, tt.value, err, tt.field)
		}
	}
	sp := specFor(flows.KeyNew)
	sp.Provider = flows.AzureDelegated
	if _, err := Render(sp, Options{}); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("azure: %v", err)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"us-east-1":  "'us-east-1'",
		"it's":       `"it's"`,
		`{"a":"$b"}`: `'{"a":"$b"}'`,
	} {
		if got, err := Quote(in); err != nil || got != want {
			t.Errorf("Quote(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Quote("a\x00b"); err == nil {
		t.Error("Quote accepted a NUL byte")
	}
}

// TestScriptsRunAgainstTheSandbox runs the scripts with the real AWS CLI
// v2 as the customer and checks the outcome through the SDK: the vendor
// can use the key, a second run changes nothing, a foreign statement in
// an existing key's policy is kept, and an alias naming another key is
// not moved.
func TestScriptsRunAgainstTheSandbox(t *testing.T) {
	sandboxtest.AWSCLI(t)
	sandboxtest.Tool(t, "jq", "jq")
	ctx := context.Background()
	e := sandboxtest.Start(t, sandbox.Options{Seed: 1, Vendor: vendor})
	env := e.CLIEnv(e.Customer())
	sdk := kms.NewFromConfig(e.Server.AWSConfig(e.Customer(), sandboxtest.Region))
	dir := t.TempDir()
	if v := sandboxtest.MustRun(t, env, "bash", "-c", "aws --version"); !strings.HasPrefix(v, "aws-cli/2.") {
		t.Fatalf("the scripts would run with %s, not the AWS CLI v2", v)
	}

	run := func(t *testing.T, sp flows.SetupSpec) (string, string, error) {
		t.Helper()
		s, err := Render(sp, Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, FileName(sp))
		if err := os.WriteFile(p, []byte(s), 0o700); err != nil {
			t.Fatal(err)
		}
		return sandboxtest.Run(env, dir, "bash", p)
	}
	aliasLine := "Key alias (save this for next step): arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme"

	t.Run("new key, twice", func(t *testing.T) {
		out, errOut, err := run(t, specFor(flows.KeyNew))
		if err != nil || !strings.HasSuffix(strings.TrimSpace(out), aliasLine) {
			t.Fatalf("first run: %v\n%s\n%s", err, out, errOut)
		}
		keys, _ := sdk.ListKeys(ctx, &kms.ListKeysInput{})
		out2, errOut, err := run(t, specFor(flows.KeyNew))
		if err != nil || !strings.HasSuffix(strings.TrimSpace(out2), aliasLine) || !strings.Contains(out2, "exists; using its key") ||
			!strings.Contains(out2, "already has statement rekwiz-acme") {
			t.Fatalf("second run: %v\n%s\n%s", err, out2, errOut)
		}
		keys2, _ := sdk.ListKeys(ctx, &kms.ListKeysInput{})
		if len(keys2.Keys) != len(keys.Keys) {
			t.Fatalf("second run made a key: %d -> %d", len(keys.Keys), len(keys2.Keys))
		}
		assertPaired(t, e, "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme")
	})

	t.Run("existing key keeps foreign statements", func(t *testing.T) {
		sp := specFor(flows.KeyExisting)
		sp.Domain = "dm-EXISTING001"
		k, err := sdk.CreateKey(ctx, &kms.CreateKeyInput{})
		if err != nil {
			t.Fatal(err)
		}
		sp.KeyID = *k.KeyMetadata.Arn
		pol, _ := sdk.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyMetadata.KeyId})
		foreign := awspolicy.Statement{Sid: "Their app", Effect: "Allow",
			Principal: &awspolicy.Principal{AWS: awspolicy.StringList{"arn:aws:iam::111122223333:role/app"}},
			Action:    awspolicy.StringList{"kms:Encrypt", "kms:Decrypt"}, Resource: awspolicy.StringList{"*"}}
		withForeign, _, _ := awspolicy.Upsert(*pol.Policy, foreign)
		if _, err := sdk.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: k.KeyMetadata.KeyId, Policy: &withForeign}); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			out, errOut, err := run(t, sp)
			if err != nil {
				t.Fatalf("run %d: %v\n%s\n%s", i+1, err, out, errOut)
			}
			after, _ := sdk.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyMetadata.KeyId})
			doc, err := awspolicy.Parse(*after.Policy)
			if err != nil {
				t.Fatal(err)
			}
			var sids []string
			for _, st := range doc.Statement {
				sids = append(sids, st.Sid)
			}
			if got := strings.Join(sids, ","); got != "Enable IAM User Permissions,Their app,rekwiz-acme" {
				t.Fatalf("run %d: statements %s", i+1, got)
			}
		}
		assertPaired(t, e, "arn:aws:kms:us-east-1:111122223333:alias/dm-EXISTING001/acme")

		d, _ := sdk.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyMetadata.KeyId})
		if d.KeyMetadata.KeyState != types.KeyStateEnabled {
			t.Fatalf("key state %s", d.KeyMetadata.KeyState)
		}

		// The same domain with another key: the alias is not moved.
		k2, _ := sdk.CreateKey(ctx, &kms.CreateKeyInput{})
		sp.KeyID = *k2.KeyMetadata.KeyId
		_, errOut, err := run(t, sp)
		if err == nil || !strings.Contains(errOut, "names another key") || !strings.Contains(errOut, "aws kms update-alias") {
			t.Fatalf("moving the alias: err=%v\n%s", err, errOut)
		}
	})

	t.Run("not signed in", func(t *testing.T) {
		bad := e.Customer()
		bad.SecretAccessKey = strings.Repeat("x", 40)
		s, _ := Render(specFor(flows.KeyNew), Options{})
		p := filepath.Join(dir, "bad.sh")
		_ = os.WriteFile(p, []byte(s), 0o700)
		_, errOut, err := sandboxtest.Run(e.CLIEnv(bad), dir, "bash", p)
		if err == nil || !strings.Contains(errOut, "the AWS CLI is not signed in") {
			t.Fatalf("err=%v\n%s", err, errOut)
		}
	})
}

func assertPaired(t *testing.T, e *sandboxtest.Env, aliasARN string) {
	t.Helper()
	a, _, err := flows.ParseAliasARN(aliasARN)
	if err != nil {
		t.Fatal(err)
	}
	domain := strings.Split(a.AliasName(), "/")[1]
	cfg := e.Server.AWSConfig(e.Vendor(), sandboxtest.Region)
	res := awskms.NewPairing(cfg).Run(context.Background(), flows.Target{Provider: flows.AWSDelegated, Domain: domain, Vendor: vendor, AliasARN: a}, nil)
	if !flows.Passed(res) {
		t.Fatalf("the vendor cannot use the key: %+v", res)
	}
}

func BenchmarkRender(b *testing.B) {
	sp := specFor(flows.KeyExisting)
	for b.Loop() {
		if _, err := Render(sp, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
