package ui

import (
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

// TestSecretNeverShownInAClearField: a secret pasted or typed into a field
// that is not secret is not put in it, is nowhere on screen, and the field
// says why; its labelled line still goes to the secret field where the
// form has one.
func TestSecretNeverShownInAClearField(t *testing.T) {
	t.Parallel()
	secretLine := "Secret access key (save this for next step): " + testSecret + "\r"
	t.Run("bare secret on the alias ARN, service account", func(t *testing.T) {
		c := pasteCases()[flows.AWSServiceAccount]
		d := toPasteFor(t, flows.AWSServiceAccount, c.presets, 80, 40)
		d.paste(testSecret)
		if got := d.fieldValue(flows.FieldAliasARN); got != "" {
			t.Errorf("alias ARN holds %q", got)
		}
		if strings.Contains(d.screen(), testSecret) {
			t.Errorf("the secret is on screen:\n%s", d.screen())
		}
		d.wantScreen("it was not kept here")
	})
	t.Run("labelled secret line where the form has no secret field", func(t *testing.T) {
		c := pasteCases()[flows.AWSDelegated]
		d := toPasteFor(t, flows.AWSDelegated, c.presets, 80, 40)
		d.paste(c.want[flows.FieldAliasARN])
		d.paste(secretLine)
		if got := d.fieldValue(flows.FieldAliasARN); got != c.want[flows.FieldAliasARN] {
			t.Errorf("alias ARN is %q, want it as it was", got)
		}
		if strings.Contains(d.screen(), testSecret) {
			t.Errorf("the secret is on screen:\n%s", d.screen())
		}
		d.wantScreen("it was not kept here")
	})
	t.Run("labelled secret line goes to the secret field", func(t *testing.T) {
		c := pasteCases()[flows.AWSServiceAccount]
		d := toPasteFor(t, flows.AWSServiceAccount, c.presets, 80, 40)
		d.paste(secretLine)
		if got := d.fieldValue(flows.FieldSecretAccessKey); got != testSecret {
			t.Errorf("secret field holds %q", got)
		}
		if got := d.fieldValue(flows.FieldAliasARN); got != "" {
			t.Errorf("alias ARN holds %q", got)
		}
		if strings.Contains(d.screen(), testSecret) {
			t.Errorf("the secret is on screen:\n%s", d.screen())
		}
	})
	t.Run("typed into the tenant ID", func(t *testing.T) {
		c := pasteCases()[flows.AzureDelegated]
		d := toPasteFor(t, flows.AzureDelegated, c.presets, 80, 40)
		d.key("tab")
		d.typ(testSecret)
		if got := d.fieldValue(flows.FieldTenantID); got != "" {
			t.Errorf("tenant ID holds %q", got)
		}
		if strings.Contains(d.screen(), testSecret) {
			t.Errorf("the secret is on screen:\n%s", d.screen())
		}
		d.wantScreen("it was not kept here")
	})
}

// TestLongValidValueNotRepeated: a long valid value gets "✓ ok" under it,
// then its whole value indented, not a bare "✓" line with the value cut
// onto the next, at both sizes.
func TestLongValidValueNotRepeated(t *testing.T) {
	t.Parallel()
	for _, w := range []int{50, 80} {
		c := pasteCases()[flows.AzureDelegated]
		d := toPasteFor(t, flows.AzureDelegated, c.presets, w, 40)
		d.paste(testKeyURL)
		scr := d.screen()
		if !strings.Contains(scr, "✓ ok") {
			t.Errorf("%d columns: no ✓ ok:\n%s", w, scr)
		}
		for _, l := range strings.Split(scr, "\n") {
			if strings.TrimSpace(l) == "✓" {
				t.Errorf("%d columns: a bare ✓:\n%s", w, scr)
			}
		}
		// The input shows the URL's end; its start is under "✓ ok".
		if !strings.Contains(scr, "    https://contoso-hsm.") {
			t.Errorf("%d columns: the key URL's start is not under ✓ ok:\n%s", w, scr)
		}
	}
}
