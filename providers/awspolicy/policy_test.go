package awspolicy

import (
	"encoding/json"
	"errors"
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

	// A changed principal is a conflict, not a replacement.
	st2 := VendorStatement(VendorSid("acme"), "arn:aws:iam::999988887777:root")
	if _, _, err := Upsert(once, st2); err == nil {
		t.Fatal("a different statement under the Sid was replaced")
	}
	replaced, changed, err := Replace(once, st2)
	if d2, _ := Parse(replaced); err != nil || !changed || len(d2.Statement) != 3 || !strings.Contains(replaced, "999988887777") {
		t.Fatalf("replace: changed=%v err=%v\n%s", changed, err, replaced)
	}

	removed, changed, err := Remove(once, st)
	if err != nil || !changed {
		t.Fatalf("remove: %v %v", changed, err)
	}
	if !strings.Contains(removed, foreign) || strings.Contains(removed, "rekwiz-acme") {
		t.Fatalf("remove lost or kept the wrong statement:\n%s", removed)
	}
	if _, changed, _ := Remove(removed, st); changed {
		t.Fatal("second remove changed the policy")
	}
}

// TestVendorStatementRule: a statement under the vendor's Sid is kept when
// it means what rekwiz writes, and otherwise neither replaced nor removed
// without Replace; two with that Sid stop everything, Replace included.
func TestVendorStatementRule(t *testing.T) {
	t.Parallel()
	sid := VendorSid("acme")
	ours := VendorStatement(sid, vendor.ARN)
	wrap := func(stmts ...string) string {
		return `{"Version":"2012-10-17","Statement":[{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"},` + strings.Join(stmts, ",") + `]}`
	}
	// The same statement in another form: strings for one-element lists,
	// actions in another order, keys in another order.
	same := `{"Resource":"*","Action":["kms:ReEncryptTo","kms:DescribeKey","kms:GenerateDataKeyWithoutPlaintext","kms:Decrypt","kms:ReEncryptFrom"],"Principal":{"AWS":"` + vendor.ARN + `"},"Effect":"Allow","Sid":"` + sid + `"}`
	for _, pol := range []string{wrap(same)} {
		if out, changed, err := Upsert(pol, ours); err != nil || changed || out != pol {
			t.Fatalf("the same statement in another form: changed=%v err=%v", changed, err)
		}
		if out, changed, err := Remove(pol, ours); err != nil || !changed || strings.Contains(out, sid) {
			t.Fatalf("remove of the same statement in another form: changed=%v err=%v", changed, err)
		}
	}
	differing := map[string][]string{
		"deny":               {strings.Replace(same, `"Allow"`, `"Deny"`, 1), "Effect Deny becomes Allow"},
		"condition":          {strings.Replace(same, `"Effect"`, `"Condition":{"Bool":{"aws:SecureTransport":"true"}},"Effect"`, 1), `its Condition {"Bool":{"aws:SecureTransport":"true"}} is dropped`},
		"narrower principal": {strings.Replace(same, vendor.ARN, "arn:aws:iam::"+vendor.Account+":role/only-this", 1), "its principal AWS arn:aws:iam::" + vendor.Account + ":role/only-this becomes AWS " + vendor.ARN},
		"fewer actions":      {strings.Replace(same, `"kms:ReEncryptTo",`, "", 1), "actions it does not allow are added: kms:ReEncryptTo"},
		"more actions":       {strings.Replace(same, `"kms:ReEncryptTo",`, `"kms:ReEncryptTo","kms:Encrypt",`, 1), "actions rekwiz does not write are dropped: kms:Encrypt"},
	}
	for name, c := range differing {
		t.Run(name, func(t *testing.T) {
			pol := wrap(c[0])
			for op, f := range map[string]func(string, Statement) (string, bool, error){"upsert": Upsert, "remove": Remove} {
				out, changed, err := f(pol, ours)
				var ce *ConflictError
				if !errors.As(err, &ce) || changed || out != "" {
					t.Fatalf("%s: changed=%v err=%v", op, changed, err)
				}
				if string(ce.Existing) != c[0] || !SameStatement(ce.Ours, mustJSON(t, ours)) {
					t.Fatalf("%s: the error carries %s and %s", op, ce.Existing, ce.Ours)
				}
				if l := strings.Join(ce.Losses(), "; "); !strings.Contains(l, c[1]) {
					t.Fatalf("%s: losses %q, want %q", op, l, c[1])
				}
			}
			out, changed, err := Replace(pol, ours)
			if err != nil || !changed {
				t.Fatalf("replace: %v %v", changed, err)
			}
			d, _ := Parse(out)
			if len(d.Statement) != 2 || !SameStatement(mustJSON(t, d.Statement[1]), mustJSON(t, ours)) {
				t.Fatalf("replace gave %s", out)
			}
		})
	}
	dup := wrap(same, same)
	for op, f := range map[string]func(string, Statement) (string, bool, error){"upsert": Upsert, "replace": Replace, "remove": Remove} {
		var de *DuplicateSidError
		if _, changed, err := f(dup, ours); !errors.As(err, &de) || changed || len(de.Statements) != 2 {
			t.Fatalf("%s with two statements %s: changed=%v err=%v", op, sid, changed, err)
		}
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUpsertIntoSingleStatementObject(t *testing.T) {
	t.Parallel()
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
