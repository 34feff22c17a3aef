package ui

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/rekwiz/rekwiz/flows"
)

const (
	testSecret = "gYFUPA1bVIIb5FeRZouF9HlOqzX8/TLkbtPDkmNz"
	testKeyURL = "https://contoso-hsm.managedhsm.azure.net/keys/customer-rek/0123456789abcdef0123456789abcdef"
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// pasteCase is, for one provider, the flow up to the script step and
// what its script's last lines fill in.
type pasteCase struct {
	presets map[flows.Field]string
	want    map[flows.Field]string
}

func pasteCases() map[flows.Provider]pasteCase {
	return map[flows.Provider]pasteCase{
		flows.AWSDelegated: {
			presets: map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"},
			want:    map[flows.Field]string{flows.FieldAliasARN: aliasARN},
		},
		flows.AWSServiceAccount: {
			presets: map[flows.Field]string{"domain": domain, "provider": "aws-service-account", "key": "new", "region": "us-east-1", "company": "Example"},
			want: map[flows.Field]string{flows.FieldAliasARN: aliasARN + "/Example",
				flows.FieldAccessKeyID: "AKIA3ZMK73YH4FBPMAID", flows.FieldSecretAccessKey: testSecret},
		},
		flows.AzureDelegated: {
			presets: map[flows.Field]string{"domain": domain, "provider": "azure-delegated", "key": "existing", "hsm-name": "contoso-hsm", "key-name": "customer-rek"},
			want:    map[flows.Field]string{flows.FieldKeyURL: testKeyURL, flows.FieldTenantID: testTenant},
		},
		flows.GCPDelegated: {
			presets: map[flows.Field]string{"domain": domain, "provider": "gcp-delegated", "key": "existing", "project": "my-project-123",
				"location": "us-east1", "keyring": "rekwiz", "key-name": "customer-rek"},
			want: map[flows.Field]string{flows.FieldKeyResource: "projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/customer-rek"},
		},
	}
}

// toPasteFor drives a provider's flow to its paste step.
func toPasteFor(t *testing.T, p flows.Provider, presets map[flows.Field]string, w, h int) *driver {
	t.Helper()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.Pairing[p] = deps.Pairing[flows.AWSDelegated]
	d := newDriver(t, newFlow(t, presets), deps, w, h)
	d.wantStep(flows.StepScript)
	d.key("enter")
	d.wantStep(flows.StepPaste)
	return d
}

func (d *driver) form() *formStep { return d.m.steps[d.m.Flow().Step()].(*formStep) }

func (d *driver) fieldValue(f flows.Field) string {
	for _, ff := range d.form().fields {
		if ff.spec.Field == f {
			return ff.input.Value()
		}
	}
	d.t.Fatalf("no field %s", f)
	return ""
}

// TestPasteOfTheLastLinesWhateverTheLineEndings: the script's labelled
// lines, pasted with LF, CR (web terminals, tmux) or CRLF line breaks,
// with or without the blank line before them, fill every field they
// name, for every provider.
func TestPasteOfTheLastLinesWhateverTheLineEndings(t *testing.T) {
	t.Parallel()
	for p, tc := range pasteCases() {
		var lines []string
		for _, f := range flows.PasteFields(p) {
			lines = append(lines, flows.PasteLine(f)+tc.want[f])
		}
		for name, sep := range map[string]string{"LF": "\n", "CR": "\r", "CRLF": "\r\n"} {
			for _, blank := range []bool{true, false} {
				text := strings.Join(lines, sep) + sep
				if blank {
					text = "Created access key or tagged the key." + sep + sep + text
				}
				t.Run(fmt.Sprintf("%s/%s/blank=%v", p, name, blank), func(t *testing.T) {
					d := toPasteFor(t, p, tc.presets, 80, 24)
					d.paste(text)
					for f, want := range tc.want {
						if got := d.fieldValue(f); got != want {
							t.Fatalf("%s = %q, want %q", f, got, want)
						}
					}
					d.key("enter")
					d.wantStep(flows.StepApply)
				})
			}
		}
	}
}

// TestCrossFieldErrorIsRecomputed: a key ARN in another region than the
// one typed beside it is refused; putting the region right clears the
// error at once, and enter moves on.
func TestCrossFieldErrorIsRecomputed(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := newDriver(t, newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "existing"}), deps, 80, 24)
	d.wantStep(flows.StepKeyDetails)
	d.typ("eu-west-1")
	d.key("tab")
	d.typ("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
	d.wantScreen("✗ this key is in us-east-1, but the region is eu-west-1")
	d.key("enter")
	d.wantStep(flows.StepKeyDetails)
	d.wantScreen("✗ this key is in us-east-1, but the region is eu-west-1")
	d.key("shift+tab", "ctrl+u")
	d.typ("us-east-1")
	if strings.Contains(d.screen(), "✗") {
		t.Fatalf("an error stayed after the region was put right:\n%s", d.screen())
	}
	d.key("enter")
	d.wantStep(flows.StepScript)
}

// TestCrossFieldChecksAsYouType: the alias ARN's account against the key
// ARN's, and the Azure key URL's HSM and key name against the key step's.
func TestCrossFieldChecksAsYouType(t *testing.T) {
	t.Parallel()
	d := toPasteFor(t, flows.AWSDelegated, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "existing",
		"region": "us-east-1", "key-id": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}, 80, 24)
	d.paste(strings.Replace(aliasARN, "111122223333", "444455556666", 1))
	d.wantScreen("✗ this alias is in account 444455556666, but the key is in account 111122223333")
	d.key("enter")
	d.wantStep(flows.StepPaste)

	az := pasteCases()[flows.AzureDelegated]
	d = toPasteFor(t, flows.AzureDelegated, az.presets, 80, 24)
	d.paste(strings.Replace(testKeyURL, "contoso-hsm", "other-hsm", 1))
	d.wantScreen("✗ this key is in the Managed HSM other-hsm, but the key step names contoso-hsm")
	d.key("ctrl+u")
	d.paste(strings.Replace(testKeyURL, "customer-rek", "another-key", 1))
	d.wantScreen("✗ this URL is for the key another-key, but the key step names customer-rek")
	d.key("ctrl+u")
	d.paste(testKeyURL)
	if strings.Contains(d.screen(), "✗") {
		t.Fatalf("error after the right URL:\n%s", d.screen())
	}
}

// TestFocusIsVisibleWithoutColour: the focused field has a marker on its
// label and an underlined label, which NO_COLOR keeps; others have
// neither.
func TestFocusIsVisibleWithoutColour(t *testing.T) {
	t.Parallel()
	d := toPasteFor(t, flows.AzureDelegated, pasteCases()[flows.AzureDelegated].presets, 80, 24)
	d.wantScreen("› Key URL", "Tenant ID")
	if strings.Contains(d.screen(), "› Tenant ID") {
		t.Fatal("the unfocused field is marked")
	}
	var buf bytes.Buffer
	w := colorprofile.NewWriter(&buf, nil)
	w.Profile = colorprofile.ASCII
	if _, err := w.WriteString(d.m.View().Content); err != nil {
		t.Fatal(err)
	}
	underlined := regexp.MustCompile(`\x1b\[[0-9;]*\b4\b[0-9;]*m`)
	var focused, other string
	for _, l := range strings.Split(buf.String(), "\n") {
		switch plain := ansi.Strip(l); {
		case strings.Contains(plain, "Key URL") && !strings.Contains(plain, "printed"):
			focused = l
		case strings.Contains(plain, "Tenant ID"):
			other = l
		}
	}
	if strings.Contains(buf.String(), "38;") || strings.Contains(buf.String(), "48;") {
		t.Fatal("the ASCII profile kept a colour")
	}
	if !underlined.MatchString(focused) || underlined.MatchString(other) {
		t.Fatalf("focused label %q, other %q: want only the focused one underlined", focused, other)
	}
}

// TestFormOpensOnItsFirstField: coming back to a form starts on its first
// field even when a later one is empty; a field given on the command line
// is passed over.
func TestFormOpensOnItsFirstField(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := newDriver(t, newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated"}), deps, 80, 24)
	d.key("enter") // an existing key
	d.wantStep(flows.StepKeyDetails)
	d.typ("eu-west-2")
	d.key("esc", "enter") // back to the key choice, and on again
	d.wantStep(flows.StepKeyDetails)
	d.wantScreen("› AWS region › eu-west-2")
	d.typ("x")
	if got := d.fieldValue(flows.FieldRegion); got != "eu-west-2x" {
		t.Fatalf("typing went to another field: region %q", got)
	}

	d = newDriver(t, newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "existing", "region": "us-east-1"}), deps, 80, 24)
	d.wantScreen("AWS region us-east-1 (from the command line)", "› Key ID or key ARN")
}

// TestUnfocusedValueShowsItsStart: a value longer than its input shows
// its start and an ellipsis once focus leaves it, not its scrolled tail.
func TestUnfocusedValueShowsItsStart(t *testing.T) {
	t.Parallel()
	d := toPasteFor(t, flows.AzureDelegated, pasteCases()[flows.AzureDelegated].presets, 50, 24)
	d.paste(testKeyURL)
	d.key("tab")
	var line string
	for _, l := range strings.Split(d.screen(), "\n") {
		if strings.Contains(l, "https://") {
			line = l
			break
		}
	}
	if !strings.Contains(line, "https://contoso-hsm.") || !strings.HasSuffix(strings.TrimRight(line, " "), "…") {
		t.Fatalf("the unfocused key URL reads %q; want its start and …", line)
	}
	checkWidth(t, d, 50)
}

// TestFooterReadableInSixteenColours: rounded to a 16-colour palette, no
// part of the footer takes the colour of the background it is drawn on.
func TestFooterReadableInSixteenColours(t *testing.T) {
	t.Parallel()
	for _, dark := range []bool{true, false} {
		background := map[bool][]string{true: {"0"}, false: {"7", "15"}}[dark]
		h := newStyles(dark).Help
		for name, st := range map[string]lipgloss.Style{"key": h.ShortKey, "description": h.ShortDesc, "separator": h.ShortSeparator} {
			got := fmt.Sprint(colorprofile.ANSI.Convert(st.GetForeground()))
			if slices.Contains(background, got) {
				t.Errorf("dark=%v: the footer's %s is ANSI colour %s, the background's", dark, name, got)
			}
		}
	}
}

// TestSetupPlanWords: an existing key is found, not "found or created";
// a new Azure key has no other tags to keep.
func TestSetupPlanWords(t *testing.T) {
	t.Parallel()
	for _, k := range []flows.KeyChoice{flows.KeyExisting, flows.KeyNew} {
		deps, _ := testDeps(t, &fakePairer{results: passing})
		deps.Demo = true
		deps.Pairing[flows.AzureDelegated] = deps.Pairing[flows.AWSDelegated]
		deps.Setup[flows.AzureDelegated] = &fakeSetup{}
		presets := map[flows.Field]string{"domain": domain, "provider": "azure-delegated", "key": string(k), "hsm-name": "contoso-hsm", "key-name": "customer-rek"}
		d := newDriver(t, newFlow(t, presets), deps, 80, 24)
		d.key("r")
		s := strings.Join(strings.Fields(d.screen()), " ")
		switch k {
		case flows.KeyExisting:
			d.wantScreen("find the key customer-rek", "keeping the key's other tags")
			if strings.Contains(s, "find or create") {
				t.Errorf("existing key: %s", s)
			}
		case flows.KeyNew:
			d.wantScreen("find or create the key customer-rek", "add the tag dm-LCAJVnUE94B=allow.")
			if strings.Contains(s, "other tags") {
				t.Errorf("new key: %s", s)
			}
		}
	}
}

// TestScriptLineCountsAgree: the script view's count of lines and the
// copy's are the same number, the script's lines.
func TestScriptLineCountsAgree(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := toScript(t, deps) // a script of 3 lines, newline-terminated
	d.wantScreen("Lines 1–3 of 3")
	d.key("c")
	d.wantScreen("Copied 3 lines")
}
