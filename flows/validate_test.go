package flows

import (
	"strings"
	"testing"
)

func TestParsers(t *testing.T) {
	type parser func(string) (string, error)
	keyURL := func(s string) (string, error) { u, err := ParseKeyURL(s); return u.String(), err }
	keyRef := func(s string) (string, error) { k, err := ParseKeyRef(s); return k.String(), err }
	tests := []struct {
		name    string
		parse   parser
		in      string
		want    string // normalised value when ok
		wantErr string // substring of the error; "" means ok
	}{
		{"domain ok", ParseDomainID, "dm-LCAJVnUE94B", "dm-LCAJVnUE94B", ""},
		{"domain trimmed", ParseDomainID, "  dm-LCAJVnUE94B\n", "dm-LCAJVnUE94B", ""},
		{"domain short", ParseDomainID, "dm-LCAJVnUE94", "", "dm- followed by 11 letters or digits"},
		{"domain long", ParseDomainID, "dm-LCAJVnUE94BX", "", "dm- followed by 11"},
		{"domain prefix", ParseDomainID, "dn-LCAJVnUE94B", "", "dm- followed by 11"},
		{"domain injection", ParseDomainID, "dm-$(id)aaaaaa", "", "dm- followed by 11"},
		{"domain empty", ParseDomainID, "", "", "required"},
		{"domain control", ParseDomainID, "dm-LCAJVn\x1bE94B", "", "control character"},
		{"domain huge", ParseDomainID, strings.Repeat("a", 10_000), "", "too long"},

		{"region ok", ParseRegion, "us-east-1", "us-east-1", ""},
		{"region gov", ParseRegion, "us-gov-west-1", "us-gov-west-1", ""},
		{"region cn", ParseRegion, "cn-northwest-1", "cn-northwest-1", ""},
		{"region bad", ParseRegion, "us-east", "", "AWS region"},
		{"region upper", ParseRegion, "US-EAST-1", "", "AWS region"},

		{"key id", keyRef, "1234abcd-12ab-34cd-56ef-1234567890ab", "1234abcd-12ab-34cd-56ef-1234567890ab", ""},
		{"key mrk", keyRef, "mrk-1234abcd12ab34cd56ef1234567890ab", "mrk-1234abcd12ab34cd56ef1234567890ab", ""},
		{"key arn", keyRef, "arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", ""},
		{"key alias refused", keyRef, "alias/my-key", "", "aliases are not accepted here"},
		{"key arn wrong partition", keyRef, "arn:aws-cn:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "", "partition aws, not aws-cn"},
		{"key arn short account", keyRef, "arn:aws:kms:us-east-1:12345678901:key/1234abcd-12ab-34cd-56ef-1234567890ab", "", "12-digit"},
		{"key garbage", keyRef, "hello", "", "expected a key ID"},

		{"tenant", ParseTenantID, "72F988BF-86F1-41AF-91AB-2D7CD011DB47", "72f988bf-86f1-41af-91ab-2d7cd011db47", ""},
		{"tenant bad", ParseTenantID, "72f988bf", "", "GUID"},

		{"hsm ok", ParseHSMName, "contoso-hsm", "contoso-hsm", ""},
		{"hsm double hyphen", ParseHSMName, "contoso--hsm", "", "Managed HSM name"},
		{"hsm digit first", ParseHSMName, "1contoso", "", "Managed HSM name"},
		{"hsm too long", ParseHSMName, "a" + strings.Repeat("-b", 12), "", "3-24"},
		{"key name", ParseKeyName, "rek-2026", "rek-2026", ""},
		{"key name space", ParseKeyName, "rek 2026", "", "1-127"},
		{"company", ParseCompany, "MyCompany", "MyCompany", ""},
		{"company quote", ParseCompany, "My'Company", "", "letters, digits"},

		{"access key", ParseAccessKeyID, "AKIA3ZMK73YH4FBPMAID", "AKIA3ZMK73YH4FBPMAID", ""},
		{"access key short", ParseAccessKeyID, "AKIA3ZMK", "", "AKIA followed by 16"},
		{"secret", ParseSecretAccessKey, "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", "gYFUPA1bVIIb5FeRZouF9HlOqzX8/TLkbtPDkmNz", ""},

		{"key url", keyURL, "https://contoso-hsm.managedhsm.azure.net/keys/rek/0123456789abcdef0123456789abcdef", "https://contoso-hsm.managedhsm.azure.net/keys/rek/0123456789abcdef0123456789abcdef", ""},
		{"key url no version", keyURL, "https://contoso-hsm.managedhsm.azure.net/keys/rek", "https://contoso-hsm.managedhsm.azure.net/keys/rek", ""},
		{"key url gov", keyURL, "https://contoso-hsm.managedhsm.usgovcloudapi.net/keys/rek/", "https://contoso-hsm.managedhsm.usgovcloudapi.net/keys/rek", ""},
		{"key url vault", keyURL, "https://contoso.vault.azure.net/keys/rek/0123456789abcdef0123456789abcdef", "", "Key Vault URL; symmetric oct-HSM keys exist only in Azure Managed HSM"},
		{"key url http", keyURL, "http://contoso-hsm.managedhsm.azure.net/keys/rek", "", "Managed HSM key URL"},
		{"key url bad version", keyURL, "https://contoso-hsm.managedhsm.azure.net/keys/rek/xyz", "", "32 hex digits"},
		{"key url secrets path", keyURL, "https://contoso-hsm.managedhsm.azure.net/secrets/rek", "", "the path is not /keys/KEY or /keys/KEY/VERSION"},
		{"key url short hsm", keyURL, "https://x.managedhsm.azure.net/keys/rek", "", `HSM name "x" is not 3-24 letters`},
		{"key url other host", keyURL, "https://contoso-hsm.example.com/keys/rek", "", "the host is not a Managed HSM (NAME.managedhsm.azure.net"},
		{"key url bad key name", keyURL, "https://contoso-hsm.managedhsm.azure.net/keys/rek_1", "", `key name "rek_1" is not 1-127 letters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got != tt.want {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseAliasARN(t *testing.T) {
	tests := []struct {
		in, want, note, wantErr string
	}{
		{in: "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme",
			want: "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme"},
		{in: "arn:aws:kms:us-east-1:123456789012:key/alias/dm-LCAJVnUE94B/acme",
			want: "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme", note: "rewrote"},
		{in: "arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/x", want: "arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/x"},
		{in: "arn:aws-cn:kms:cn-north-1:123456789012:alias/x", want: "arn:aws-cn:kms:cn-north-1:123456789012:alias/x"},
		{in: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", wantErr: "this is a key ARN"},
		{in: "arn:aws:s3:::bucket", wantErr: "not for KMS"},
		{in: "arn:aws:kms:us-east-1:123456789012:alias/aws/ebs", wantErr: "reserved"},
		{in: "arn:aws:kms:us-east-1:123456789012:alias/a b", wantErr: "not an alias name"},
		{in: "alias/dm-LCAJVnUE94B/acme", wantErr: "expected an alias ARN like arn:aws:kms:"},
		{in: "arn:aws:kms:cn-north-1:123456789012:alias/x", wantErr: "partition aws-cn, not aws"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, note, err := ParseAliasARN(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.String() != tt.want {
				t.Errorf("got %s, want %s", a, tt.want)
			}
			if (tt.note == "") != (note == "") || !strings.Contains(note, tt.note) {
				t.Errorf("note = %q, want %q", note, tt.note)
			}
		})
	}
}

// FuzzParseAliasARN shows the parser never panics and that every ARN it
// accepts is printed back exactly as its normalised self, and parses again.
func FuzzParseAliasARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme",
		"arn:aws:kms:us-east-1:123456789012:key/alias/x",
		"arn:aws-cn:kms:cn-north-1:123456789012:alias/a/b_c-d",
		"arn::::::", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, note, err := ParseAliasARN(s)
		if err != nil {
			return
		}
		again, note2, err := ParseAliasARN(a.String())
		if err != nil {
			t.Fatalf("accepted %q but not its own output %q: %v", s, a.String(), err)
		}
		if again != a || note2 != "" {
			t.Fatalf("round trip of %q changed it: %v -> %v (note %q)", s, a, again, note2)
		}
		if note == "" && a.String() != strings.TrimSpace(s) {
			t.Fatalf("accepted %q unchanged but prints %q", s, a.String())
		}
	})
}

func FuzzParseKeyURL(f *testing.F) {
	f.Add("https://contoso-hsm.managedhsm.azure.net/keys/rek/0123456789abcdef0123456789abcdef")
	f.Add("https://a.vault.azure.net/keys/k")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseKeyURL(s)
		if err != nil {
			return
		}
		again, err := ParseKeyURL(u.String())
		if err != nil || again != u {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
	})
}

func TestSecretNeverPrints(t *testing.T) {
	const secret = "gYFUPA1bVIIb5FeRZouF9HlOqzX8/TLkbtPDkmNz"
	tg := Target{SecretAccessKey: Secret(secret)}
	for _, s := range []string{
		tg.SecretAccessKey.String(),
		tg.SecretAccessKey.GoString(),
		sprintf("%v", tg), sprintf("%+v", tg), sprintf("%#v", tg), sprintf("%s", tg.SecretAccessKey),
	} {
		if strings.Contains(s, secret[:36]) {
			t.Fatalf("secret leaked: %s", s)
		}
	}
	b, _ := Secret(secret).MarshalJSON()
	if string(b) != `"****kmNz"` {
		t.Fatalf("json = %s", b)
	}
}

func BenchmarkParseAliasARN(b *testing.B) {
	for b.Loop() {
		if _, _, err := ParseAliasARN("arn:aws:kms:us-east-1:123456789012:key/alias/dm-LCAJVnUE94B/acme"); err != nil {
			b.Fatal(err)
		}
	}
}
