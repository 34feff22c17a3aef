package scripts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// azCall is one az command line in a script: its command path, and each
// flag with the literal value after it ("" when the value is a variable
// or there is none).
type azCall struct {
	command string            // "keyvault role assignment create"
	flags   map[string]string // "--assignee-principal-type": "ServicePrincipal"
}

// azCalls finds every az invocation in a script by parsing it as bash.
func azCalls(t *testing.T, script string) []azCall {
	t.Helper()
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(script), "")
	if err != nil {
		t.Fatal(err)
	}
	var calls []azCall
	syntax.Walk(f, func(n syntax.Node) bool {
		ce, ok := n.(*syntax.CallExpr)
		if !ok || len(ce.Args) == 0 || ce.Args[0].Lit() != "az" {
			return true
		}
		c := azCall{flags: map[string]string{}}
		var path []string
		last := ""
		for _, w := range ce.Args[1:] {
			lit := literal(w)
			switch {
			case strings.HasPrefix(lit, "-"):
				last = lit
				c.flags[lit] = ""
			case last == "" && lit != "":
				path = append(path, lit)
			case last != "" && c.flags[last] == "":
				c.flags[last] = lit
			}
		}
		c.command = strings.Join(path, " ")
		calls = append(calls, c)
		return true
	})
	return calls
}

// literal is a word's value when it has no expansion (quotes removed),
// else "".
func literal(w *syntax.Word) string {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				lit, ok := q.(*syntax.Lit)
				if !ok {
					return ""
				}
				b.WriteString(lit.Value)
			}
		default:
			return ""
		}
	}
	return b.String()
}

// azHelp is what `az COMMAND --help` says: its flags (every alias) and,
// where it lists them, each flag's allowed values.
type azHelp struct {
	flags   map[string]bool
	allowed map[string][]string
}

var (
	helpFlagRE    = regexp.MustCompile(`^    ((?:--?[A-Za-z][\w-]*\s+)+)(?:\[Required\]\s*)?:(.*)$`)
	helpAllowedRE = regexp.MustCompile(`Allowed values: ([^.]+)\.`)
)

func parseAzHelp(text string) azHelp {
	h := azHelp{flags: map[string]bool{}, allowed: map[string][]string{}}
	var names []string
	var desc strings.Builder
	flush := func() {
		if m := helpAllowedRE.FindStringSubmatch(strings.Join(strings.Fields(desc.String()), " ")); m != nil {
			for _, n := range names {
				h.allowed[n] = strings.Split(m[1], ", ")
			}
		}
		names = nil
		desc.Reset()
	}
	for _, line := range strings.Split(text, "\n") {
		if m := helpFlagRE.FindStringSubmatch(line); m != nil {
			flush()
			names = strings.Fields(m[1])
			for _, n := range names {
				h.flags[n] = true
			}
			desc.WriteString(m[2])
			continue
		}
		if strings.HasPrefix(line, "        ") && names != nil {
			desc.WriteString(" " + strings.TrimSpace(line))
			continue
		}
		flush()
	}
	flush()
	return h
}

// azTolerantHelp runs the installed Azure CLI with one change: a command
// whose SDK docstring module is missing still loads. Debian's azure-cli
// 2.45 lacks azure.keyvault.v7_0, so `az keyvault key create --help`
// (and the command itself) fails there before printing anything; the
// arguments it lists come from the CLI's own registrations either way.
const azTolerantHelp = `
import os, sys, runpy
os.environ['AZ_INSTALLER'] = 'DEB'
import azure.cli.core as core
_apply = core.AzCommandsLoader._apply_doc_string
def _tolerant(self, dest, kwargs):
    try:
        return _apply(self, dest, kwargs)
    except ModuleNotFoundError:
        pass
core.AzCommandsLoader._apply_doc_string = _tolerant
sys.argv = ['az'] + sys.argv[1:]
runpy.run_module('azure.cli', run_name='__main__')
`

// tolerantNote begins a help text read with azTolerantHelp.
const tolerantNote = "(read with the docstring loader made tolerant: this azure-cli lacks azure.keyvault.v7_0)\n"

// azHelpFor reads `az COMMAND --help` once per az version (the help
// cache is keyed by `az version` and the exact command, and by the
// tolerant loader's text when that is what read it).
func azHelpFor(t *testing.T, az fakecloudtest.CLI, command string) azHelp {
	args := append(strings.Fields(command), "--help")
	sum := sha256.Sum256([]byte(azTolerantHelp))
	key := append(slices.Clone(args), "or with the tolerant loader "+hex.EncodeToString(sum[:8]))
	text, err := az.Cached(t, key, func() (string, error) {
		cmd := exec.Command(az.Path, args...)
		cmd.Env = az.Env
		out, err := cmd.CombinedOutput()
		if err != nil && strings.Contains(string(out), "No module named 'azure.keyvault.v7_0'") {
			cmd = exec.Command("/usr/bin/python3", append([]string{"-c", azTolerantHelp}, args...)...)
			cmd.Env = az.Env
			out, err = cmd.CombinedOutput()
			out = append([]byte(tolerantNote), out...)
		}
		if err != nil {
			return "", fmt.Errorf("az %s --help: %v\n%s", command, err, out)
		}
		return string(out), nil
	})
	if err != nil {
		t.Error(err)
		return azHelp{}
	}
	if strings.HasPrefix(text, tolerantNote) {
		t.Logf("az %s --help fails in this azure-cli (no azure.keyvault.v7_0); %s", command, strings.TrimSpace(tolerantNote))
	}
	return parseAzHelp(text)
}

// TestAzureCommandsExist checks every az command and flag the Azure
// scripts use against the installed Azure CLI's own help (Debian's
// azure-cli): the command exists, each flag is one it lists, and a
// literal value is one of the values it allows.
func TestAzureCommandsExist(t *testing.T) {
	t.Parallel()
	az := fakecloudtest.CLI{Path: fakecloudtest.RealCLI(t, "/usr/bin/az", "azure-cli"), Version: []string{"version", "--output", "json"},
		Env: append(os.Environ(), "AZURE_CONFIG_DIR="+t.TempDir(), "AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CORE_NO_COLOR=true")}

	used := map[string]map[string]string{} // command -> flag -> a literal value
	for _, v := range variants() {
		if v.spec.Provider != flows.AzureDelegated {
			continue
		}
		s, err := Render(v.spec, v.opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range azCalls(t, s) {
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
	commands := make([]string, 0, len(used))
	for c := range used {
		commands = append(commands, c)
	}
	sort.Strings(commands)
	if len(commands) < 8 {
		t.Fatalf("found only %d az commands: %v", len(commands), commands)
	}

	helps := make([]azHelp, len(commands))
	var wg sync.WaitGroup
	for i, c := range commands {
		wg.Go(func() { helps[i] = azHelpFor(t, az, c) })
	}
	wg.Wait()
	for i, c := range commands {
		h := helps[i]
		if len(h.flags) == 0 {
			t.Errorf("az %s: no help", c)
			continue
		}
		var flags []string
		for f, val := range used[c] {
			flags = append(flags, f)
			if !h.flags[f] {
				t.Errorf("az %s: no flag %s (it has %v)", c, f, keys(h.flags))
				continue
			}
			if allowed := h.allowed[f]; val != "" && allowed != nil && !slices.Contains(allowed, val) {
				t.Errorf("az %s %s %s: allowed values are %v", c, f, val, allowed)
			}
		}
		sort.Strings(flags)
		t.Logf("az %s %s", c, strings.Join(flags, " "))
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestAzHelpParser makes sure the check above can fail: an invented flag
// and a wrong value are caught in real help text.
func TestAzHelpParser(t *testing.T) {
	t.Parallel()
	h := parseAzHelp(`Arguments
    --role            [Required] : Role name or id.
    --assignee-principal-type -t : The principal type of assignee.  Allowed values: Application,
                                   ForeignGroup, Group, MSI, ServicePrincipal, User.
    --name --subscription -n -s : Name or ID of subscription.
`)
	for _, f := range []string{"--role", "--assignee-principal-type", "-t", "--name", "-s"} {
		if !h.flags[f] {
			t.Errorf("flag %s not read", f)
		}
	}
	if h.flags["--principal-type"] {
		t.Error("an invented flag was found")
	}
	if got := h.allowed["--assignee-principal-type"]; !slices.Contains(got, "ServicePrincipal") || slices.Contains(got, "Service") {
		t.Errorf("allowed values: %v", got)
	}
	calls := azCalls(t, `az keyvault role assignment create --hsm-name "$H" --role 'Managed HSM Crypto User' -t ServicePrincipal --output none`)
	if len(calls) != 1 || calls[0].command != "keyvault role assignment create" || calls[0].flags["--role"] != "Managed HSM Crypto User" || calls[0].flags["--hsm-name"] != "" || calls[0].flags["-t"] != "ServicePrincipal" {
		t.Errorf("azCalls: %+v", calls)
	}
}
