package awspolicy

import (
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, s string) Document {
	t.Helper()
	d, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBeyondNamesEachExtraAction(t *testing.T) {
	t.Parallel()
	stmt := func(sid, actions string) string {
		return `{"Sid":"` + sid + `","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":` + actions + `,"Resource":"*"}`
	}
	tests := []struct {
		name, stmts string
		want        []Extra
	}{
		{"exactly the five", stmt("v", `["kms:DescribeKey","kms:GenerateDataKeyWithoutPlaintext","kms:Decrypt","kms:ReEncryptFrom","kms:ReEncryptTo"]`), nil},
		{"ReEncrypt* is the two ReEncrypts", stmt("v", `["kms:DescribeKey","kms:GenerateDataKeyWithoutPlaintext","kms:Decrypt","kms:ReEncrypt*"]`), nil},
		{"Encrypt and CreateGrant", stmt("v", `["kms:Decrypt","kms:Encrypt","kms:CreateGrant"]`), []Extra{{"v", []string{"kms:Encrypt", "kms:CreateGrant"}}}},
		{"PutKeyPolicy in another statement", stmt("v", `"kms:Decrypt"`) + `,` + stmt("more", `"kms:PutKeyPolicy"`), []Extra{{"more", []string{"kms:PutKeyPolicy"}}}},
		{"Describe* expands", stmt("v", `"kms:Describe*"`), []Extra{{"v", []string{"kms:DescribeCustomKeyStores"}}}},
		{"no Sid", `{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"kms:Sign","Resource":"*"}`, []Extra{{"#1 (no Sid)", []string{"kms:Sign"}}}},
		{"a role of the account", `{"Sid":"r","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:role/x"},"Action":"kms:Verify","Resource":"*"}`, []Extra{{"r", []string{"kms:Verify"}}}},
		{"other accounts are not the vendor", `{"Sid":"o","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}`, nil},
		{"a Deny takes away", `{"Sid":"d","Effect":"Deny","Principal":{"AWS":"999988887777"},"Action":"kms:*","Resource":"*"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, `{"Statement":[`+tt.stmts+`]}`).Beyond("999988887777", VendorActions)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	// kms:* and NotAction name every other action of the table.
	for _, s := range []string{stmt("all", `"kms:*"`), stmt("all", `"*"`),
		`{"Sid":"all","Effect":"Allow","Principal":{"AWS":"999988887777"},"NotAction":"kms:Decrypt","Resource":"*"}`} {
		got := mustParse(t, `{"Statement":[`+s+`]}`).Beyond("999988887777", VendorActions)
		if len(got) != 1 || got[0].Sid != "all" || len(got[0].Actions) < len(KMSActions)-5 ||
			!strings.Contains(got[0].String(), "statement all grants kms:CancelKeyDeletion, ") || !strings.Contains(got[0].String(), " more") {
			t.Fatalf("%s: %+v", s, got)
		}
	}
}

func TestOpenToEveryone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stmt string
		want []string
	}{
		{`{"Sid":"a","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}`, []string{"a"}},
		{`{"Sid":"b","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}`, []string{"b"}},
		{`{"Effect":"Allow","Principal":{"AWS":["111122223333","*"]},"Action":"kms:Encrypt","Resource":"*"}`, []string{"#1 (no Sid)"}},
		{`{"Sid":"np","Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"kms:Decrypt","Resource":"*"}`, []string{"np"}},
		{`{"Sid":"c","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}`, nil},
		{`{"Sid":"d","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}`, nil},
		{`{"Sid":"e","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}`, nil},
		{`{"Sid":"s3","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}`, nil},
		// A Condition that names no keys limits nothing.
		{`{"Sid":"f","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{}}`, []string{"f"}},
		{`{"Sid":"g","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":null}`, []string{"g"}},
		{`{"Sid":"h","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{}}}`, []string{"h"}},
	}
	for _, tt := range tests {
		if got := mustParse(t, `{"Statement":[`+tt.stmt+`]}`).OpenToEveryone(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.stmt, got, tt.want)
		}
	}
}

func TestBeyondAlias(t *testing.T) {
	t.Parallel()
	const alias = "alias/dm-LCAJVnUE94B/acme/Example"
	const key = "arn:aws:kms:us-east-1:123456789012:key/k1"
	cond := `"Condition":{"ForAnyValue:StringEquals":{"kms:ResourceAliases":"` + alias + `"}}`
	six := `["kms:DescribeKey","kms:GenerateDataKeyWithoutPlaintext","kms:Decrypt","kms:ReEncryptFrom","kms:ReEncryptTo","kms:Encrypt"]`
	tests := []struct {
		name, stmt string
		fail, warn string // substrings of the finding; "" for none
	}{
		{"the instructions' policy (Resource *)", `{"Sid":"sa","Effect":"Allow","Action":` + six + `,"Resource":"*",` + cond + `}`, "", ""},
		{"the key's ARN", `{"Sid":"sa","Effect":"Allow","Action":` + six + `,"Resource":"` + key + `"}`, "", ""},
		{"every key", `{"Sid":"all","Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}`, "statement all allows kms:Decrypt on * without a kms:ResourceAliases condition", ""},
		{"another key", `{"Sid":"k2","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:123456789012:key/k2"}`, "on arn:aws:kms:us-east-1:123456789012:key/k2 without", ""},
		{"ForAllValues limits nothing", `{"Sid":"fa","Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"ForAllValues:StringEquals":{"kms:ResourceAliases":"` + alias + `"}}}`, "statement fa allows kms:Decrypt on *", ""},
		{"another condition is no limit", `{"Sid":"ip","Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`, "statement ip allows kms:Decrypt on *", ""},
		{"NotResource", `{"Sid":"nr","Effect":"Allow","Action":"kms:Decrypt","NotResource":"` + key + `"}`, "every resource but " + key, ""},
		{"iam:*", `{"Sid":"i","Effect":"Allow","Action":"iam:*","Resource":"*"}`, "statement i allows IAM actions (iam:*)", ""},
		{"iam:PassRole", `{"Sid":"i","Effect":"Allow","Action":["s3:GetObject","iam:PassRole"],"Resource":"*"}`, "allows IAM actions (iam:PassRole)", ""},
		{"*:*", `{"Sid":"star","Effect":"Allow","Action":"*:*","Resource":"*"}`, "statement star allows IAM actions (*:*)", ""},
		{"*", `{"Sid":"star","Effect":"Allow","Action":"*","Resource":"*"}`, "statement star allows IAM actions (*)", ""},
		{"NotAction", `{"Sid":"na","Effect":"Allow","NotAction":"s3:*","Resource":"*"}`, "allows IAM actions (every action but s3:*)", ""},
		{"kms:* on the alias", `{"Sid":"sa","Effect":"Allow","Action":"kms:*","Resource":"*",` + cond + `}`, "", "statement sa allows kms:CancelKeyDeletion,"},
		{"a Deny", `{"Sid":"d","Effect":"Deny","Action":"*","Resource":"*"}`, "", ""},
		{"other services", `{"Sid":"s3","Effect":"Allow","Action":"s3:*","Resource":"*"}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, `{"Statement":[`+tt.stmt+`]}`).BeyondAlias(alias, []string{key}, ServiceAccountActions)
			var fails, warns []string
			for _, f := range got {
				if f.Fail {
					fails = append(fails, f.String())
				} else {
					warns = append(warns, f.String())
				}
			}
			check := func(kind string, list []string, want string) {
				if want == "" && len(list) > 0 || want != "" && (len(list) == 0 || !strings.Contains(strings.Join(list, "; "), want)) {
					t.Errorf("%s: got %q, want %q", kind, list, want)
				}
			}
			check("fail", fails, tt.fail)
			check("warn", warns, tt.warn)
		})
	}
}
