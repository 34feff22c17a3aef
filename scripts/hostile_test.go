package scripts

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/rekwiz/rekwiz/flows"
)

// Values that reach a script: every hostile one refused before a script
// is rendered, every accepted one quoted in it.

type hostile struct {
	field flows.Field
	value string
}

// hostileInputs are values that must never reach a script: shell syntax,
// look-alikes, control characters, sizes. Each is tried in every variant
// that reads its field.
var hostileInputs = []hostile{
	{flows.FieldDomain, "dm-$(id)abcdef"},
	{flows.FieldDomain, "dm-`id`abcdefg"},
	{flows.FieldDomain, "dm-LCAJVnUE94B'; rm -rf ~; '"},
	{flows.FieldDomain, "dm-LCAJVnUE94B\necho pwned"},
	{flows.FieldDomain, "dm-LCAJVnUE94Β"}, // Greek capital beta
	{flows.FieldDomain, "dm-LCAJVnUE94\u200b"},
	{flows.FieldDomain, "dm-*"},
	{flows.FieldDomain, ""},
	{flows.FieldRegion, "us-east-1 && curl evil"},
	{flows.FieldRegion, "us-*"},
	{flows.FieldRegion, ""},
	{flows.FieldRegion, strings.Repeat("a", 10_000)},
	{flows.FieldRegion, "us-east-1;id"},
	{flows.FieldRegion, "ｕs-east-1"}, // fullwidth u
	{flows.FieldKeyID, `1234abcd-12ab-34cd-56ef-1234567890ab"`},
	{flows.FieldKeyID, "1234abcd-12ab-34cd-56ef-1234567890ab; id"},
	{flows.FieldKeyID, "arn:aws:kms:us-east-1:111122223333:key/$(id)"},
	{flows.FieldKeyID, "alias/../../etc"},
	{flows.FieldKeyID, "1234abcd-12ab-34cd-56ef-1234567890ab\nid"},
	{flows.FieldKeyID, ""},
	{flows.FieldCompany, "Acme Corp"},
	{flows.FieldCompany, "acme;reboot"},
	{flows.FieldCompany, "$HOME"},
	{flows.FieldCompany, "acme|tee /etc/passwd"},
	{flows.FieldCompany, "Ācme"},
	{flows.FieldCompany, strings.Repeat("c", 10_000)},
	{flows.FieldCompany, ""},
	{flows.FieldHSMName, "contoso-hsm && az group delete"},
	{flows.FieldHSMName, "contoso.hsm"},
	{flows.FieldHSMName, "hsm'"},
	{flows.FieldHSMName, "c?ntoso"},
	{flows.FieldHSMName, ""},
	{flows.FieldKeyName, "key name"},
	{flows.FieldKeyName, "key/../other"},
	{flows.FieldKeyName, "key\x00"},
	{flows.FieldKeyName, "ｋey"},
	{flows.FieldKeyName, strings.Repeat("k", 10_000)},
	{flows.FieldKeyName, "$(curl evil)"},
	{flows.FieldKeyName, ""},
	{flows.FieldProject, "my-project-123; id"},
	{flows.FieldProject, "My-Project-123"},
	{flows.FieldProject, "$(id)-project"},
	{flows.FieldProject, "my-project-123\ngcloud projects delete x"},
	{flows.FieldProject, "my-prоject-123"}, // Cyrillic o
	{flows.FieldProject, "proj"},
	{flows.FieldProject, strings.Repeat("p", 10_000)},
	{flows.FieldProject, ""},
	{flows.FieldLocation, "us-east1 && curl evil"},
	{flows.FieldLocation, "us-east1/../global"},
	{flows.FieldLocation, "US-EAST1"},
	{flows.FieldLocation, "us-east1`id`"},
	{flows.FieldLocation, "ｕs-east1"},
	{flows.FieldLocation, ""},
	{flows.FieldKeyRing, "key ring"},
	{flows.FieldKeyRing, "rekwiz/cryptoKeys/other"},
	{flows.FieldKeyRing, "$(id)"},
	{flows.FieldKeyRing, "rekwiz'"},
	{flows.FieldKeyRing, strings.Repeat("r", 64)},
	{flows.FieldKeyRing, "rekwiz\x1b[2J"},
	{flows.FieldKeyRing, ""},
	{flows.FieldProtection, "external"},
	{flows.FieldProtection, "hsm; id"},
	{flows.FieldProtection, "ｈsm"},
	{flows.FieldProtection, "software\nid"},
	{flows.FieldProtection, ""},
}

func set(sp *flows.SetupSpec, f flows.Field, v string) bool {
	switch f {
	case flows.FieldDomain:
		sp.Domain = v
	case flows.FieldRegion:
		sp.Region = v
	case flows.FieldKeyID:
		sp.KeyID = v
	case flows.FieldCompany:
		sp.Company = v
	case flows.FieldHSMName:
		sp.HSMName = v
	case flows.FieldKeyName:
		sp.KeyName = v
	case flows.FieldProject:
		sp.Project = v
	case flows.FieldLocation:
		sp.Location = v
	case flows.FieldKeyRing:
		sp.KeyRing = v
	case flows.FieldProtection:
		sp.ProtectionLevel = v
	default:
		return false
	}
	return true
}

// reads reports whether a variant's spec uses field f.
func reads(sp flows.SetupSpec, f flows.Field) bool {
	switch f {
	case flows.FieldDomain:
		return true
	case flows.FieldRegion:
		return sp.Provider.Cloud() == flows.CloudAWS
	case flows.FieldKeyID:
		return sp.Provider.Cloud() == flows.CloudAWS && sp.Key == flows.KeyExisting
	case flows.FieldCompany:
		return sp.Provider == flows.AWSServiceAccount
	case flows.FieldHSMName:
		return sp.Provider == flows.AzureDelegated
	case flows.FieldKeyName:
		return sp.Provider == flows.AzureDelegated || sp.Provider == flows.GCPDelegated
	case flows.FieldProtection:
		return sp.Provider == flows.GCPDelegated && sp.Key == flows.KeyNew
	}
	return sp.Provider == flows.GCPDelegated // project, location, keyring
}

func TestHostileValuesAreRefused(t *testing.T) {
	t.Parallel()
	if len(hostileInputs) < 25 {
		t.Fatalf("only %d hostile inputs", len(hostileInputs))
	}
	tried := 0
	for _, h := range hostileInputs {
		for _, v := range variants() {
			sp := v.spec
			if !reads(sp, h.field) {
				continue
			}
			set(&sp, h.field, h.value)
			tried++
			s, err := Render(sp, v.opts)
			var fe flows.FieldErrors
			if !errors.As(err, &fe) || fe.For(h.field) == nil {
				t.Errorf("%s: %s = %.40q: err = %v, want an error naming %s", v.name, h.field, h.value, err, h.field)
			}
			if s != "" {
				t.Errorf("%s: %s = %.40q rendered a script", v.name, h.field, h.value)
			}
			if err != nil && !strings.Contains(err.Error(), string(h.field)) {
				t.Errorf("%s: the error does not name %s: %v", v.name, h.field, err)
			}
		}
	}
	t.Logf("%d hostile inputs, %d renders refused", len(hostileInputs), tried)

	sp := specFor(flows.KeyNew)
	sp.Provider = "oci-delegated"
	if _, err := Render(sp, Options{}); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("unknown provider: %v", err)
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
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

// checkQuoted parses a rendered script as bash and fails unless every
// user value appears only inside quotes: the readonly assignment of each
// value is one quoted word that expands to exactly the value, and no
// unquoted word anywhere contains it.
func checkQuoted(t testing.TB, script string, values map[string]string) {
	t.Helper()
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(script), "")
	if err != nil {
		t.Fatalf("the script does not parse: %v", err)
	}
	assigned := map[string]bool{}
	var quoted []syntax.Node
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.DeclClause:
			for _, a := range n.Args {
				want, ok := values[a.Name.Value]
				if !ok || a.Value == nil {
					continue
				}
				if len(a.Value.Parts) != 1 {
					t.Errorf("%s is not one quoted word", a.Name.Value)
					continue
				}
				var got string
				switch q := a.Value.Parts[0].(type) {
				case *syntax.SglQuoted:
					got = q.Value
				case *syntax.DblQuoted:
					if len(q.Parts) != 1 {
						t.Errorf("%s: double quotes with expansions", a.Name.Value)
						continue
					}
					lit, ok := q.Parts[0].(*syntax.Lit)
					if !ok || strings.ContainsAny(lit.Value, "$`\\") {
						t.Errorf("%s: double quotes with expansions", a.Name.Value)
						continue
					}
					got = lit.Value
				default:
					t.Errorf("%s = %T, not quoted", a.Name.Value, q)
					continue
				}
				if got != want {
					t.Errorf("%s expands to %q, not %q", a.Name.Value, got, want)
				}
				assigned[a.Name.Value] = true
			}
		case *syntax.SglQuoted, *syntax.DblQuoted:
			quoted = append(quoted, n)
			return false
		case *syntax.Lit:
			for name, v := range values {
				if len(v) >= 4 && strings.Contains(n.Value, v) {
					t.Errorf("%s's value appears unquoted: %q", name, n.Value)
				}
			}
		}
		return true
	})
	for name := range values {
		if !assigned[name] {
			t.Errorf("%s is never assigned", name)
		}
	}
}

func TestValuesAreQuoted(t *testing.T) {
	t.Parallel()
	for _, v := range variants() {
		s, err := Render(v.spec, v.opts)
		if err != nil {
			t.Fatal(err)
		}
		checkQuoted(t, s, valuesOf(v.spec, v.opts))
	}
}

// valuesOf maps the script variables that carry user values to them.
func valuesOf(sp flows.SetupSpec, opts Options) map[string]string {
	if sp.Provider == flows.AzureDelegated {
		return map[string]string{"HSM_NAME": sp.HSMName, "KEY_NAME": sp.KeyName, "DOMAIN": sp.Domain}
	}
	if sp.Provider == flows.GCPDelegated {
		m := map[string]string{"PROJECT": sp.Project, "LOCATION": sp.Location, "KEY_RING": sp.KeyRing, "KEY_ID": sp.KeyName,
			"KEY": sp.KeyResource().String(), "DOMAIN": sp.Domain}
		if sp.Key == flows.KeyNew && !opts.Teardown {
			m["PROTECTION"] = sp.ProtectionLevel
			m["KEY_RING_NAME"] = sp.KeyResource().KeyRingName()
		}
		return m
	}
	m := map[string]string{"REGION": sp.Region, "ALIAS_NAME": sp.AliasName()}
	if sp.Key == flows.KeyExisting && !(opts.Teardown && sp.Provider == flows.AWSServiceAccount) {
		m["KEY_REF"] = sp.KeyID
	}
	return m
}

// FuzzRender renders every provider, key choice and teardown from fuzzed
// values. Whatever is accepted must parse as bash (bash -n) and carry
// each value quoted; whatever is refused must be refused with a field
// error, never a panic.
func FuzzRender(f *testing.F) {
	f.Add(uint8(0), testDomain, "us-east-1", testKeyARN, "Example", "contoso-hsm", "customer-rek", "my-project-123", "us-east1", "rekwiz", "hsm")
	f.Add(uint8(3), "dm-AAAAAAAAAAA", "eu-west-2", "1234abcd-12ab-34cd-56ef-1234567890ab", "a_b-c", "h12", "k", "p-1234", "global", "r", "software")
	f.Add(uint8(5), "dm-$(id)xxxxx", "us-gov-west-1", "mrk-1234abcd12ab34cd56ef1234567890ab", "x'y", "a-b-c", "x--y", "x'yyyyy", "eu", "a b", "hsm'")
	f.Add(uint8(7), testDomain, "cn-north-1", "arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "Z", "hsm", "key-1", "abcdef", "nam4", "R_1", "HSM")
	// gcp-delegated (pick%4 == 3): a new key (3), an existing one (7),
	// and a teardown (0x83).
	f.Add(uint8(3), testDomain, "", "", "", "", "customer-rek", "my-project-123", "europe-west2", "rekwiz", "")
	f.Add(uint8(7), testDomain, "", "", "", "", "rek-1", "my-project-123", "northamerica-northeast1", "ring_1", "software")
	f.Add(uint8(0x83), testDomain, "", "", "", "", "customer-rek", "my-project-123", "us", "rekwiz", "")
	// Values with spaces around them are accepted, trimmed: the script
	// carries the trimmed value, which is what the oracle must expect.
	f.Add(uint8(0), " "+testDomain+"\t", " us-east-1 ", " "+testKeyARN+" ", " Example ", " contoso-hsm ", " customer-rek ", " my-project-123 ", " us-east1\t", " rekwiz ", " hsm ")
	f.Add(uint8(4), testDomain+" ", "us-east-1\t", testKeyARN, "Example ", "contoso-hsm", "customer-rek", "my-project-123", "us-east1", "rekwiz", "hsm")
	f.Add(uint8(7), testDomain+" ", "", "", "", "", " rek-1 ", " my-project-123 ", " us-east1\t", " rekwiz ", " Software ")
	bash, err := exec.LookPath("bash")
	if err != nil {
		f.Skip("no bash")
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, pick uint8, domain, region, keyID, company, hsm, keyName, project, location, keyRing, protection string) {
		providers := flows.Providers()
		sp := flows.SetupSpec{
			Provider: providers[int(pick)%len(providers)], Key: flows.KeyChoices()[int(pick/3)%2],
			Domain: domain, Vendor: vendor, Region: region, KeyID: keyID, Company: company, HSMName: hsm, KeyName: keyName,
			Project: project, Location: location, KeyRing: keyRing, ProtectionLevel: protection,
		}
		opts := Options{Teardown: pick&0x80 != 0}
		s, err := Render(sp, opts)
		if err != nil {
			var fe flows.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("refused without naming a field: %v", err)
			}
			return
		}
		// The script carries the values as the flow keeps them (trimmed),
		// not as they were typed.
		norm, err := sp.Normalize()
		if err != nil {
			t.Fatalf("Render accepted what Normalize refuses: %v", err)
		}
		checkQuoted(t, s, valuesOf(norm, opts))
		p := filepath.Join(dir, "fuzz.sh")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bash, "-n", p).CombinedOutput(); err != nil {
			t.Fatalf("bash -n: %v\n%s", err, out)
		}
	})
}
