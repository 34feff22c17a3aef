package awspolicy

import (
	"encoding/json"
	"strings"
	"testing"
)

var (
	vendor   = Caller{ARN: "arn:aws:iam::999988887777:role/rek-access", Account: "999988887777"}
	admin    = Caller{ARN: "arn:aws:iam::123456789012:user/admin", Account: "123456789012"}
	stranger = Caller{ARN: "arn:aws:iam::444455556666:user/eve", Account: "444455556666"}
)

const defaultPolicy = `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}`

func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		caller Caller
		action string
		want   Decision
	}{
		{"root grants its account", defaultPolicy, admin, "kms:Decrypt", Allow},
		{"root grant is not for others", defaultPolicy, vendor, "kms:Decrypt", ImplicitDeny},
		{"account id principal", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"kms:Decrypt","Resource":"*"}}`, vendor, "kms:Decrypt", Allow},
		{"role principal", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::999988887777:role/rek-access"]},"Action":["kms:Decrypt"],"Resource":"*"}]}`, vendor, "kms:Decrypt", Allow},
		{"role grants its sessions", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:role/path/rek-access"},"Action":"kms:Decrypt","Resource":"*"}]}`,
			Caller{ARN: "arn:aws:sts::999988887777:assumed-role/rek-access/s1", Account: "999988887777"}, "kms:Decrypt", Allow},
		{"other role", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:role/other"},"Action":"kms:Decrypt","Resource":"*"}]}`, vendor, "kms:Decrypt", ImplicitDeny},
		{"wildcard principal", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}`, stranger, "kms:Decrypt", Allow},
		{"kms:* wildcard", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"kms:*","Resource":"*"}]}`, vendor, "kms:ReEncryptTo", Allow},
		{"ReEncrypt* wildcard", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"kms:ReEncrypt*","Resource":"*"}]}`, vendor, "kms:ReEncryptFrom", Allow},
		{"ReEncrypt* is not Decrypt", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"kms:ReEncrypt*","Resource":"*"}]}`, vendor, "kms:Decrypt", ImplicitDeny},
		{"case-insensitive action", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"KMS:decrypt","Resource":"*"}]}`, vendor, "kms:Decrypt", Allow},
		{"explicit deny wins", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}`, vendor, "kms:Decrypt", ExplicitDeny},
		{"NotAction", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"NotAction":"kms:Decrypt","Resource":"*"}]}`, vendor, "kms:Encrypt", Allow},
		{"NotAction excludes", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"NotAction":"kms:Decrypt","Resource":"*"}]}`, vendor, "kms:Decrypt", ImplicitDeny},
		{"conditional allow is not counted", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}]}`, vendor, "kms:Decrypt", ImplicitDeny},
		{"conditional deny is counted", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, vendor, "kms:Decrypt", ExplicitDeny},
		{"service principal never matches", `{"Statement":[{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"kms:*","Resource":"*"}]}`, vendor, "kms:Decrypt", ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Decide(tt.caller, tt.action); got != tt.want {
				t.Fatalf("Decide = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		`not json`:          "not valid JSON",
		`{"Statement":"x"}`: "object or a list",
		`{"Statement":[{"Effect":"Maybe","Principal":"*"}]}`:     "Effect must be Allow or Deny",
		`{"Statement":[{"Effect":"Allow","Principal":"alice"}]}`: `principal "alice"`,
		`{"Statement":[{"Effect":"Allow","Action":5}]}`:          "string or a list",
	} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want %q", in, err, want)
		}
	}
}

func TestUpsertKeepsEverythingElse(t *testing.T) {
	foreign := `{"Sid":"Their statement","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/app"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}`
	policy := `{"Version":"2012-10-17","Id":"key-consolepolicy-3","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"},` + foreign + `]}`
	st := VendorStatement(VendorSid("acme"), vendor.ARN)

	once, changed, err := Upsert(policy, st)
	if err != nil || !changed {
		t.Fatalf("first upsert: changed=%v err=%v", changed, err)
	}
	if !strings.Contains(once, foreign) || !strings.Contains(once, `"Id":"key-consolepolicy-3"`) {
		t.Fatalf("foreign parts not kept byte for byte:\n%s", once)
	}
	twice, changed, err := Upsert(once, st)
	if err != nil || changed || twice != once {
		t.Fatalf("second upsert changed the policy (changed=%v, err=%v)", changed, err)
	}
	d, err := Parse(once)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Statement); n != 3 {
		t.Fatalf("%d statements, want 3", n)
	}
	if m := d.Missing(vendor, VendorActions); len(m) != 0 {
		t.Fatalf("vendor still missing %v", m)
	}
	if d.Decide(vendor, "kms:Encrypt") != ImplicitDeny || d.Decide(vendor, "kms:ScheduleKeyDeletion") != ImplicitDeny {
		t.Fatal("vendor statement grants more than VendorActions")
	}

	// A changed principal replaces the statement in place of a duplicate.
	st2 := VendorStatement(VendorSid("acme"), "arn:aws:iam::999988887777:root")
	replaced, changed, _ := Upsert(once, st2)
	if d2, _ := Parse(replaced); !changed || len(d2.Statement) != 3 {
		t.Fatalf("replace: changed=%v\n%s", changed, replaced)
	}

	removed, changed, err := Remove(once, VendorSid("acme"))
	if err != nil || !changed {
		t.Fatalf("remove: %v %v", changed, err)
	}
	if !strings.Contains(removed, foreign) || strings.Contains(removed, "rekwiz-acme") {
		t.Fatalf("remove lost or kept the wrong statement:\n%s", removed)
	}
	if _, changed, _ := Remove(removed, VendorSid("acme")); changed {
		t.Fatal("second remove changed the policy")
	}
}

func TestUpsertIntoSingleStatementObject(t *testing.T) {
	policy := `{"Statement":{"Sid":"only","Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"kms:*","Resource":"*"}}`
	out, _, err := Upsert(policy, VendorStatement("rekwiz-acme", vendor.ARN))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Statement) != 2 || doc.Version != "2012-10-17" {
		t.Fatalf("got %s (%v)", out, err)
	}
}
