package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui"
)

// hostile are strings a server, a cloud, a profile or the environment
// could carry to act on the customer's terminal.
var hostile = []string{
	"clear\x1b[2J",
	"clip\x1b]52;c;ZWNobyBwd25lZA==\x07",
	"title\x1b]0;owned\x1b\\",
	"dcs\x1bP1$r0m\x1b\\",
	"bell\x07",
	"c1csi\x9b2J",
	"c1csiutf8\u009b2J",
	"rlo\u202Egpj.exe",
}

var hostileAll = strings.Join(hostile, " ")

// rawControl returns what in s a terminal would act on: ESC, BEL, a C1
// control (raw byte or UTF-8), or a bidirectional override or isolate.
func rawControl(s string) (string, bool) {
	if i := strings.IndexAny(s, "\x1b\x07"); i >= 0 {
		return s[i:min(i+12, len(s))], true
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1 && s[i] >= 0x80 && s[i] <= 0x9f) || (r >= 0x80 && r <= 0x9f) ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return s[i:min(i+12, len(s))], true
		}
		i += n
	}
	return "", false
}

func assertEscaped(t *testing.T, where, s string) {
	t.Helper()
	if r, bad := rawControl(s); bad {
		t.Errorf("%s: raw control reaches the terminal at %q", where, r)
	}
	if !strings.Contains(s, `\x1b`) && !strings.Contains(s, `\u001b`) {
		t.Errorf("%s: the hostile text is not shown at all: %q", where, s)
	}
}

func hostileChecks() []flows.Check {
	return []flows.Check{
		{ID: "aws.alias" + hostile[0], Name: "Alias " + hostile[1], Status: flows.StatusFail, Detail: hostileAll, Remedy: "do " + hostileAll},
		{ID: "aws.wait", Name: "waiting", Status: flows.StatusWarn, Detail: hostile[2], Remedy: hostile[5], Wait: &flows.Wait{Why: hostileAll, In: time.Second, Left: time.Minute}},
	}
}

func hostileTarget(t *testing.T) flows.Target {
	a, _, err := flows.ParseAliasARN("arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox")
	if err != nil {
		t.Fatal(err)
	}
	return flows.Target{Provider: flows.AWSDelegated, Domain: "dm-LCAJVnUE94B", AliasARN: a}
}

// TestHostileTextNeverReachesTheTerminalRaw runs hostile strings through
// every place rekwiz shows text it did not write, outside the TUI.
func TestHostileTextNeverReachesTheTerminalRaw(t *testing.T) {
	tg := hostileTarget(t)

	t.Run("verify text", func(t *testing.T) {
		var out bytes.Buffer
		writeReport(&IOStreams{Out: &out}, tg, hostileChecks())
		assertEscaped(t, "verify", out.String())
	})
	t.Run("verify JSON", func(t *testing.T) {
		var out bytes.Buffer
		if err := writeJSON(&out, tg, hostileChecks()); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(out.Bytes()) {
			t.Fatalf("invalid JSON: %s", out.String())
		}
		var doc struct {
			Checks []struct{ ID, Name, Detail, Remedy string }
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		// Raw, and as a reader of the JSON (jq -r) would print it.
		assertEscaped(t, "verify --json", out.String())
		for _, c := range doc.Checks {
			if r, bad := rawControl(c.ID + c.Name + c.Detail + c.Remedy); bad {
				t.Errorf("decoded JSON carries %q", r)
			}
		}
	})
	t.Run("verify progress", func(t *testing.T) {
		var errOut bytes.Buffer
		progress(&errOut)(hostileChecks()[1])
		if r, bad := rawControl(errOut.String()); bad || errOut.Len() == 0 {
			t.Errorf("progress: %q %q", r, errOut.String())
		}
	})
	t.Run("exit summary", func(t *testing.T) {
		var out bytes.Buffer
		writeSummary(&out, ui.Summary{Domain: "dm-LCAJVnUE94B", Provider: flows.AWSDelegated, Vendor: hostileAll, Key: hostile[3],
			Receipt: flows.Receipt{RekID: hostile[0], Where: hostile[1], Test: hostileAll}, Verify: hostile[2]}, false)
		assertEscaped(t, "summary", out.String())
	})
	t.Run("errors on stderr", func(t *testing.T) {
		_, _, errOut := exec(t, false, "--x"+hostileAll)
		assertEscaped(t, "unknown flag", errOut)
		t.Setenv("REKWIZ_API_URL", "https://"+hostileAll)
		t.Setenv("REKWIZ_API_TOKEN", "token-0123456789")
		_, _, errOut = exec(t, false, "script", "--provider", "aws-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--region", "us-east-1")
		assertEscaped(t, "REKWIZ_API_URL echoed back", errOut)
		_, _, errOut = exec(t, false, "script", "--vendor-profile", "/nonexistent/"+hostileAll, "--provider", "aws-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--region", "us-east-1")
		assertEscaped(t, "a path echoed back", errOut)
	})
}

// The TUI's hostile sources, wrapped around the demo's real ones.
type hostilePairer struct{ ui.Pairer }

func (h hostilePairer) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	checks := h.Pairer.Run(ctx, t, func(c flows.Check) {
		c.Detail += " " + hostileAll
		report(c)
	})
	for i := range checks {
		checks[i].Detail += " " + hostileAll
	}
	return append(checks, flows.Check{ID: "x.hostile", Name: "Hostile " + hostile[1], Status: flows.StatusWarn, Detail: hostileAll, Remedy: hostileAll})
}

type hostileSetuper struct{ ui.Setuper }

func (h hostileSetuper) Run(ctx context.Context, sp flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	return h.Setuper.Run(ctx, sp, func(ev flows.SetupEvent) {
		ev.Detail += " " + hostile[1]
		report(ev)
	})
}

type hostileRegistrar struct{ ui.Registrar }

func (h hostileRegistrar) Register(ctx context.Context, t flows.Target) (flows.Receipt, error) {
	r, err := h.Registrar.Register(ctx, t)
	r.RekID, r.Test = "rek-"+hostile[0], hostileAll
	return r, err
}

// screens keeps every screen the wizard drew, as drawn (styles and all).
type screens struct {
	tea.Model
	mu  *sync.Mutex
	all *[]string
}

func (s screens) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := s.Model.Update(msg)
	return screens{Model: m, mu: s.mu, all: s.all}, cmd
}

func (s screens) View() tea.View {
	v := s.Model.View()
	s.mu.Lock()
	*s.all = append(*s.all, v.Content)
	s.mu.Unlock()
	return v
}

// TestHostileTextInTheTUI walks the demo with set-up events, the
// receipt and the check's details carrying hostile text, as a hostile
// cloud or domain API would send them: no screen carries it raw.
func TestHostileTextInTheTUI(t *testing.T) {
	demoHome(t)
	w := newDemo(t)
	p := flows.AWSDelegated
	deps := w.deps
	deps.Setup = map[flows.Provider]ui.Setuper{p: hostileSetuper{deps.Setup[p].(safeSetuper).s}}
	deps.Pairing = map[flows.Provider]ui.Pairer{p: hostilePairer{deps.Pairing[p].(safePairer).p}}
	deps.Registry = hostileRegistrar{deps.Registry.(safeRegistrar).r}
	deps = safeDeps(deps)

	var mu sync.Mutex
	var all []string
	d := &demoRun{t: t, w: w}
	d.tm = teatest.NewTestModel(t, observed{Model: screens{Model: ui.New(w.flow, deps), mu: &mu, all: &all}, mu: &d.mu, last: &d.screen},
		teatest.WithInitialTermSize(100, 60), teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	d.waitFor("› dm-LCAJVnUE94B")
	d.press(enter)
	d.waitFor("Where will the key live?")
	d.press(enter)
	d.waitFor("Guide me through creating a new key")
	d.press(down, enter)
	d.waitFor("› us-east-1")
	d.press(enter)
	d.waitFor("Run this script where the AWS CLI is signed in")
	d.press(char('r'))
	d.waitFor("y yes • n/esc no") // the plan, read: it opens at its top, the footer asks
	d.press(char('y'))
	d.waitFor("✓ Done. The next step is filled in with:")
	d.press(enter)
	d.waitFor("› arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox")
	d.press(enter)
	d.waitFor("✓ Registered")
	d.press(enter)
	d.waitFor("Hostile")
	d.tm.Send(tea.QuitMsg{})
	d.tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	mu.Lock()
	defer mu.Unlock()
	shown := false
	for _, s := range all {
		// The screen has its own styling (SGR sequences); what must not be
		// there is the hostile text's own: OSC, DCS, BEL, clear, C1, bidi,
		// or a lone C1 byte (invalid UTF-8).
		for _, marker := range []string{"\x1b]", "\x1bP", "\x07", "\u009b", "\u202e", "\x1b[2J"} {
			if strings.Contains(s, marker) {
				t.Fatalf("a screen carries %q raw:\n%s", marker, s)
			}
		}
		if !utf8.ValidString(s) {
			t.Fatalf("a screen carries a raw byte that is not UTF-8 (a C1 control):\n%q", s)
		}
		shown = shown || strings.Contains(s, `]52;c;ZWNobyBwd25lZA==\x07`)
	}
	if !shown {
		t.Fatal("the hostile text was never shown (escaped): the test did not reach it")
	}
}
