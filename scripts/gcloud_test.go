package scripts

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/charmbracelet/x/ansi"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// gcloudHelp is what `gcloud COMMAND --help` says: the command's name,
// its flags and the gcloud-wide ones, and each flag's allowed values
// where it lists them.
type gcloudHelp struct {
	name    string // "gcloud kms keys create"
	flags   map[string]bool
	allowed map[string][]string
}

var (
	gcloudFlagRE    = regexp.MustCompile(`^\s+(--(?:\[no-\])?[a-z][a-z0-9-]*)(?:[=;\s]|$)`)
	gcloudAllowedRE = regexp.MustCompile(`must be one of: ([^.]+)\.`)
	gcloudAnyFlagRE = regexp.MustCompile(`--[a-z][a-z0-9-]*`)
	gcloudNameRE    = regexp.MustCompile(`(?m)^NAME\n\s+(gcloud(?: [a-z][a-z0-9-]*)*) -`)
)

func parseGcloudHelp(text string) gcloudHelp {
	text = ansi.Strip(text)
	h := gcloudHelp{flags: map[string]bool{}, allowed: map[string][]string{}}
	if m := gcloudNameRE.FindStringSubmatch(text); m != nil {
		h.name = m[1]
	}
	var names []string
	var desc strings.Builder
	flush := func() {
		if m := gcloudAllowedRE.FindStringSubmatch(strings.Join(strings.Fields(desc.String()), " ")); m != nil {
			for _, n := range names {
				h.allowed[n] = strings.Split(m[1], ", ")
			}
		}
		names = nil
		desc.Reset()
	}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		if line != "" && line[0] != ' ' { // a section's heading
			flush()
			section = line
			continue
		}
		if section == "GCLOUD WIDE FLAGS" {
			for _, f := range gcloudAnyFlagRE.FindAllString(line, -1) {
				h.flags[f] = true
			}
			continue
		}
		if m := gcloudFlagRE.FindStringSubmatch(line); m != nil && strings.HasSuffix(section, "FLAGS") || m != nil && strings.HasPrefix(section, "POSITIONAL") {
			flush()
			f := m[1]
			if rest, ok := strings.CutPrefix(f, "--[no-]"); ok {
				names = []string{"--" + rest, "--no-" + rest}
			} else {
				names = []string{f}
			}
			for _, n := range names {
				h.flags[n] = true
			}
			continue
		}
		if names != nil {
			desc.WriteString(" " + strings.TrimSpace(line))
		}
	}
	flush()
	return h
}

// gcloudCall is one gcloud command line in a script: its command path,
// and each flag with its literal value ("" when the value is a variable
// or there is none).
type gcloudCall struct {
	command string
	flags   map[string]string
}

// gcloudCalls finds every gcloud invocation in a script by parsing it as
// bash: a command whose first word is gcloud, or one that runs gcloud
// through a function (retry_on_conflict gcloud …). Commands named in the
// script's messages ('gcloud auth login') come back as calls too.
func gcloudCalls(t testing.TB, script string) []gcloudCall {
	t.Helper()
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(script), "")
	if err != nil {
		t.Fatal(err)
	}
	var calls []gcloudCall
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CallExpr:
			for i, w := range n.Args {
				if w.Lit() == "gcloud" {
					calls = append(calls, gcloudCallOf(n.Args[i+1:]))
					break
				}
			}
		case *syntax.SglQuoted:
			calls = append(calls, mentioned(n.Value)...)
		case *syntax.DblQuoted:
			for _, p := range n.Parts {
				if lit, ok := p.(*syntax.Lit); ok {
					calls = append(calls, mentioned(lit.Value)...)
				}
			}
		}
		return true
	})
	return calls
}

func gcloudCallOf(args []*syntax.Word) gcloudCall {
	c := gcloudCall{flags: map[string]string{}}
	var path []string
	inPath := true
	for _, w := range args {
		first, ok := w.Parts[0].(*syntax.Lit)
		if !ok || !strings.HasPrefix(first.Value, "-") {
			if lit := literal(w); inPath && lit != "" && !strings.Contains(lit, "/") {
				path = append(path, lit)
			} else {
				inPath = false // the first positional argument ends the path
			}
			continue
		}
		inPath = false
		name, _, _ := strings.Cut(first.Value, "=")
		c.flags[name] = ""
		if lit := literal(w); lit != "" {
			_, v, _ := strings.Cut(lit, "=")
			c.flags[name] = v
		}
	}
	c.command = strings.Join(path, " ")
	return c
}

var mentionRE = regexp.MustCompile(`gcloud((?: [a-z][a-z0-9-]*)+)`)

// mentioned finds gcloud commands named in a message.
func mentioned(s string) []gcloudCall {
	var out []gcloudCall
	for _, m := range mentionRE.FindAllStringSubmatch(s, -1) {
		out = append(out, gcloudCall{command: strings.TrimSpace(m[1]), flags: map[string]string{}})
	}
	return out
}

// TestGcloudCommandsExist checks every gcloud command and flag the Google
// Cloud scripts use (and every command their messages name) against the
// installed CLI's own help: the command exists, each flag is one it
// lists, and a literal value, or a protection level the flow accepts, is
// one of the values it allows.
func TestGcloudCommandsExist(t *testing.T) {
	t.Parallel()
	// Skipped (with -short or no gcloud) before the scripts are rendered.
	fakecloudtest.Gcloud(t)
	used := map[string]map[string]string{} // command -> flag -> a literal value
	for _, v := range variants() {
		if v.spec.Provider.Cloud() != flows.CloudGCP {
			continue
		}
		s, err := Render(v.spec, v.opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range gcloudCalls(t, s) {
			if used[c.command] == nil {
				used[c.command] = map[string]string{}
			}
			for f, val := range c.flags {
				if used[c.command][f] == "" {
					used[c.command][f] = val
				}
			}
		}
	}
	commands := slices.Sorted(func(yield func(string) bool) {
		for c := range used {
			if !yield(c) {
				return
			}
		}
	})
	if len(commands) < 9 {
		t.Fatalf("found only %d gcloud commands: %v", len(commands), commands)
	}
	helps := gcloudHelps(t, commands)
	for _, c := range commands {
		h := helps[c]
		if h.name != "gcloud "+c {
			t.Errorf("gcloud %s: no such command (its help names %q)", c, h.name)
			continue
		}
		var flags []string
		for f, val := range used[c] {
			flags = append(flags, f)
			if !h.flags[f] {
				t.Errorf("gcloud %s: no flag %s (it has %v)", c, f, keys(h.flags))
				continue
			}
			if allowed := h.allowed[f]; val != "" && allowed != nil && !slices.Contains(allowed, val) {
				t.Errorf("gcloud %s %s=%s: allowed values are %v", c, f, val, allowed)
			}
		}
		sort.Strings(flags)
		t.Logf("gcloud %s %s", c, strings.Join(flags, " "))
	}
	// The protection level is a variable in the script: every value the
	// flow accepts must be one gcloud takes.
	allowed := helps["kms keys create"].allowed["--protection-level"]
	for _, p := range []string{flows.ProtectionHSM, flows.ProtectionSoftware} {
		if _, err := flows.ParseProtectionLevel(p); err != nil || !slices.Contains(allowed, p) {
			t.Errorf("protection level %s: the flow says %v; gcloud kms keys create --protection-level allows %v", p, err, allowed)
		}
	}
}

// gcloudHelps reads (once per test process, in one Python start; see
// fakecloudtest.GcloudHelps) and parses the help of each command.
func gcloudHelps(t testing.TB, commands []string) map[string]gcloudHelp {
	t.Helper()
	texts := fakecloudtest.GcloudHelps(t, commands)
	out := make(map[string]gcloudHelp, len(texts))
	for c, text := range texts {
		out[c] = parseGcloudHelp(text)
	}
	return out
}

// TestGcloudHelpParser makes sure the check above can fail: in real help
// text (gcloud 528's, abridged), an invented flag, a wrong value and
// another command's name are caught; the script parser finds calls made
// through a function and commands named in messages.
func TestGcloudHelpParser(t *testing.T) {
	t.Parallel()
	h := parseGcloudHelp("\x1b[m\x1b[1mNAME\x1b[m\n    gcloud kms keys create - create a new key\n\n" + `SYNOPSIS
    gcloud kms keys create (KEY : --keyring=KEYRING --location=LOCATION)
        --purpose=PURPOSE [--labels=[KEY=VALUE,...]]

POSITIONAL ARGUMENTS
     Key resource - The KMS key resource.

       KEY
          ID of the key or fully qualified identifier for the key.

       --keyring=KEYRING
          The KMS keyring of the key.

REQUIRED FLAGS
     --purpose=PURPOSE
        The "purpose" of the key. PURPOSE must be one of:
        asymmetric-encryption, asymmetric-signing, encryption, mac,
        raw-encryption.

OPTIONAL FLAGS
     --protection-level=PROTECTION_LEVEL; default="software"
        Protection level of the key. PROTECTION_LEVEL must be one of: software,
        hsm, external, external-vpc.

     --[no-]skip-initial-version-creation
        Skip creating the first version.

GCLOUD WIDE FLAGS
    These flags are available to all commands: --access-token-file, --account,
    --format, --help.
`)
	if h.name != "gcloud kms keys create" {
		t.Errorf("name %q", h.name)
	}
	for _, f := range []string{"--keyring", "--purpose", "--protection-level", "--skip-initial-version-creation", "--no-skip-initial-version-creation", "--format", "--account"} {
		if !h.flags[f] {
			t.Errorf("flag %s not read", f)
		}
	}
	for _, f := range []string{"--labels=", "--protection", "--key", "--rotation-period"} {
		if h.flags[f] {
			t.Errorf("flag %s found, but the help has no such flag", f)
		}
	}
	if got := h.allowed["--purpose"]; !slices.Contains(got, "encryption") || slices.Contains(got, "symmetric-encryption") || len(got) != 5 {
		t.Errorf("--purpose allows %v", got)
	}
	if got := h.allowed["--protection-level"]; !slices.Contains(got, "hsm") || slices.Contains(got, "HSM") {
		t.Errorf("--protection-level allows %v", got)
	}
	calls := gcloudCalls(t, `retry_on_conflict gcloud kms keys add-iam-policy-binding "$KEY" --member="$M" --role=roles/x --condition=None
X=$(gcloud kms keys create "$KEY" --purpose=encryption --format=json)
echo "run 'gcloud auth login' (or Cloud Shell)"`)
	want := []string{"kms keys add-iam-policy-binding --condition=None --member= --role=roles/x", "kms keys create --format=json --purpose=encryption", "auth login"}
	var got []string
	for _, c := range calls {
		s := c.command
		for _, f := range slices.Sorted(func(yield func(string) bool) {
			for f := range c.flags {
				if !yield(f) {
					return
				}
			}
		}) {
			s += " " + f + "=" + c.flags[f]
		}
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Errorf("gcloudCalls:\n%q\nwant\n%q", got, want)
	}
}
