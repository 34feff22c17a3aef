package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

// joined is what a shell reads from lines ending in " \".
func joined(lines []string) string {
	var parts []string
	for _, l := range lines {
		parts = append(parts, strings.TrimSpace(strings.TrimSuffix(strings.TrimRight(l, " "), "\\")))
	}
	return strings.Join(parts, " ")
}

func TestCommandLines(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme/Example"
	cmd := "rekwiz verify --provider aws-service-account --domain dm-LCAJVnUE94B --key-arn " + arn + " --access-key-id AKIAIOSFODNN7EXAMPLE"
	for _, w := range []int{76, 158} {
		lines, short := commandLines(cmd, w)
		if short {
			t.Fatalf("at %d the ARN (%d) was shortened", w, len(arn))
		}
		for i, l := range lines {
			if len([]rune(l)) > w {
				t.Fatalf("at %d line %q is too wide", w, l)
			}
			if (i < len(lines)-1) != strings.HasSuffix(l, " \\") {
				t.Fatalf("at %d line %d %q: every line but the last ends in \\", w, i, l)
			}
		}
		if got := joined(lines); got != cmd {
			t.Fatalf("at %d the lines read as\n%s\nnot\n%s", w, got, cmd)
		}
		if w >= 76 && !strings.Contains(strings.Join(lines, "\n"), arn) {
			t.Fatalf("the ARN is broken:\n%s", strings.Join(lines, "\n"))
		}
	}
	// Too narrow for the ARN: shortened and said so, never broken.
	lines, short := commandLines(cmd, 40)
	if !short || strings.Contains(strings.Join(lines, "\n"), "\nAJVn") {
		t.Fatalf("at 40: short=%v\n%s", short, strings.Join(lines, "\n"))
	}
	// A quoted argument stays whole.
	if got := shellFields(`az keyvault role assignment create --role "Managed HSM Crypto User" --scope /keys/k`); len(got) != 9 || got[6] != `"Managed HSM Crypto User"` {
		t.Fatalf("fields %q", got)
	}
}

func TestRemedyCommand(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ remedy, before, cmd, after string }{
		{"aws kms enable-key --region us-east-1 --key-id arn:aws:kms:us-east-1:1:key/k", "", "aws kms enable-key --region us-east-1 --key-id arn:aws:kms:us-east-1:1:key/k", ""},
		{"az ad sp create --id 1111 (the setup script does it)", "", "az ad sp create --id 1111", "(the setup script does it)"},
		{"paste the Tenant ID the script printed (az account show --query tenantId)", "paste the Tenant ID the script printed (", "az account show --query tenantId", ")"},
		{"sign in with az login (Azure Cloud Shell is signed in already), then retry", "sign in with", "az login", "(Azure Cloud Shell is signed in already), then retry"},
		{`az keyvault role assignment create --hsm-name h --role "Managed HSM Crypto User (x)" --assignee a --scope /keys/k`, "", `az keyvault role assignment create --hsm-name h --role "Managed HSM Crypto User (x)" --assignee a --scope /keys/k`, ""},
	} {
		before, cmd, after, ok := remedyCommand(c.remedy)
		if !ok || before != c.before || cmd != c.cmd || after != c.after {
			t.Errorf("%q: got %q | %q | %q (%v)", c.remedy, before, cmd, after, ok)
		}
	}
	if _, _, _, ok := remedyCommand("run the setup script again: it puts statement rekwiz-acme into the key policy"); ok {
		t.Error("found a command in prose")
	}
}

// clipboard is the last OSC 52 request the commands made.
func (d *driver) clipboard() string {
	var got string
	for _, m := range d.received {
		if fmt.Sprintf("%T", m) == "tea.setClipboardMsg" {
			got = fmt.Sprint(m)
		}
	}
	return got
}

// commandOnScreen is the command as a shell reads the screen's lines
// from the one starting with first.
func commandOnScreen(d *driver, first string) string {
	var lines []string
	for _, l := range strings.Split(d.screen(), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(strings.TrimPrefix(l, "→ "), first) || len(lines) > 0 {
			lines = append(lines, strings.TrimPrefix(l, "→ "))
			if !strings.HasSuffix(l, "\\") {
				break
			}
		}
	}
	return joined(lines)
}

// TestDoneCommandCopiesAsOne: the verify command is on lines that read
// as one command, and c copies it.
func TestDoneCommandCopiesAsOne(t *testing.T) {
	t.Parallel()
	w := walks[1]
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-service-account", "key": "new", "region": "us-east-1", "company": "Example"})
	d := newDriver(t, flow, walkDeps(t, w), 80, 24)
	d.key("r", "y", "enter", "enter", "enter", "enter")
	d.wantStep(flows.StepDone)
	target, _ := d.m.Flow().Target()
	want := verifyLike(target)
	if got := commandOnScreen(d, "rekwiz verify"); got != want {
		t.Fatalf("the screen's command reads\n%s\nnot\n%s\n%s", got, want, d.screen())
	}
	d.key("c")
	if got := d.clipboard(); got != want {
		t.Fatalf("c copied %q", got)
	}
	d.wantScreen("✓ Copied the command")
}

// TestDoneKeepsItsNextActionInView: at 80x24, after c the note that the
// command was copied does not push "Press enter to finish." off screen.
func TestDoneKeepsItsNextActionInView(t *testing.T) {
	t.Parallel()
	w := walks[2]
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "azure-delegated", "key": "existing", "hsm-name": "sandbox-hsm", "key-name": "customer-rek"})
	d := newDriver(t, flow, walkDeps(t, w), 80, 24)
	d.key("r", "y", "enter", "enter", "enter", "enter")
	d.wantStep(flows.StepDone)
	d.key("c")
	d.wantScreen("✓ Copied the command", "Press enter to finish.")
}

// TestFailedCheckRemedyCopiesAsOne: a failed check's command is shown the
// same way, and c copies it.
func TestFailedCheckRemedyCopiesAsOne(t *testing.T) {
	t.Parallel()
	const cmd = "aws kms enable-key --region us-east-1 --key-id arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	p := &fakePairer{results: []flows.Check{
		{ID: "aws.alias", Name: "Alias resolves to a key", Status: flows.StatusPass, Detail: "key 1234"},
		{ID: "aws.key-state", Name: "Key is enabled", Status: flows.StatusFail, Detail: "the key is disabled", Remedy: cmd},
	}}
	for _, size := range [][2]int{{50, 16}, {80, 24}} {
		d := toCheck(t, p, size[0], size[1])
		if size[0] == 80 {
			if got := commandOnScreen(d, "aws kms enable-key"); got != cmd {
				t.Fatalf("the screen's command reads\n%s\n%s", got, d.screen())
			}
		}
		d.wantScreen("c: copy the command")
		d.key("c")
		if got := d.clipboard(); got != cmd {
			t.Fatalf("c copied %q", got)
		}
		d.wantScreen(`✓ Copied the command for "Key is enabled"`)
		screenFits(t, d, size[0], size[1])
	}
}
