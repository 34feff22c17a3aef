package ui

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/rekwiz/rekwiz/flows"
)

// player runs an Autoplay as a program does, without a terminal: every
// command is run and its message fed back. A command that has not
// returned after wait (an autoplay pause longer than the test) is
// abandoned, so the test decides when that pause ends.
type player struct {
	t    *testing.T
	a    *Autoplay
	wait time.Duration
	quit bool
}

func (p *player) send(msg tea.Msg) {
	p.t.Helper()
	_, cmd := p.a.Update(msg)
	p.run(cmd)
}

func (p *player) run(cmd tea.Cmd) {
	p.t.Helper()
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 20000 {
			p.t.Fatal("commands never settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg, ok := within(c, p.wait)
		if !ok {
			continue
		}
		switch m := msg.(type) {
		case nil, spinner.TickMsg:
		case tea.BatchMsg:
			queue = append(queue, m...)
		case tea.QuitMsg:
			p.quit = true
		default:
			_, next := p.a.Update(msg)
			queue = append(queue, next)
		}
	}
}

func (p *player) screen() string { return ansi.Strip(p.a.View().Content) }

// autoplayDeps are fakes for every provider: a set-up that prints the
// provider's paste values, and a passing check.
func autoplayStarter(t *testing.T) Starter {
	return func(p flows.Provider) (*Model, error) {
		deps, _ := testDeps(t, &fakePairer{results: passing})
		for _, q := range flows.Providers() {
			deps.Pairing[q] = deps.Pairing[flows.AWSDelegated]
			deps.Setup[q] = specSetup{}
		}
		deps.Demo = true
		return New(newFlow(t, nil), deps), nil
	}
}

// specSetup is a set-up that prints the values a real one would for
// the spec.
type specSetup struct{}

func (specSetup) Run(_ context.Context, sp flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	report(flows.SetupEvent{Call: "kms create-key", Detail: "created key 1234"})
	paste := map[flows.Field]string{}
	for f, v := range pasteCases()[sp.Provider].want {
		switch f {
		case flows.FieldAliasARN:
			v = "arn:aws:kms:" + sp.Region + ":111122223333:" + sp.AliasName()
		case flows.FieldKeyURL:
			v = "https://" + sp.HSMName + ".managedhsm.azure.net/keys/" + sp.KeyName + "/0123456789abcdef0123456789abcdef"
		case flows.FieldKeyResource:
			v = sp.KeyResource().String()
		}
		paste[f] = v
	}
	return flows.SetupResult{Paste: paste}, nil
}

// TestAutoplayWalksEveryProviderToDone: at no delay, the autoplay walks
// the wizard from the domain to Done for each provider in turn, through
// the wizard's own Update, and then ends the program.
func TestAutoplayWalksEveryProviderToDone(t *testing.T) {
	t.Parallel()
	p := &player{t: t, a: NewAutoplay(autoplayStarter(t), Pace{}, flows.Providers()), wait: 10 * time.Second}
	p.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	p.run(p.a.Init())
	if got := p.a.Reached(); !slices.Equal(got, flows.Providers()) {
		t.Fatalf("reached Done for %v, want %v; at %s:\n%s", got, flows.Providers(), p.a.Model().Flow().Step(), p.screen())
	}
	if !p.a.Finished() || !p.quit {
		t.Fatalf("finished %v, quit %v:\n%s", p.a.Finished(), p.quit, p.screen())
	}
	if got := p.a.Model().Flow().Value(flows.FieldDomain); got != flows.Spec(flows.FieldDomain).Example {
		t.Errorf("typed domain %q", got)
	}
}

// TestAutoplayPausesAndStops: any key pauses the autoplay (its next move
// waits) and resumes it; q stops it and ends the program at once.
func TestAutoplayPausesAndStops(t *testing.T) {
	t.Parallel()
	slow := Pace{Look: time.Hour, Read: time.Hour}
	p := &player{t: t, a: NewAutoplay(autoplayStarter(t), slow, flows.Providers()), wait: 20 * time.Millisecond}
	p.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	p.run(p.a.Init())
	if !strings.Contains(p.screen(), "any key pauses") {
		t.Fatalf("no autoplay line:\n%s", p.screen())
	}
	before := p.screen()

	p.send(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
	if !p.a.Paused() || !strings.Contains(p.screen(), "paused") {
		t.Fatalf("a key did not pause:\n%s", p.screen())
	}
	p.send(autoplayTick{gen: p.a.gen}) // the pause ends, but paused
	if p.a.Model().Flow().Step() != flows.StepDomain || p.a.cur == nil || p.a.cur.pause != slow.Look {
		t.Fatalf("the autoplay moved while paused:\n%s", p.screen())
	}

	p.send(tea.KeyPressMsg{Code: 'x', Text: "x"})
	if p.a.Paused() {
		t.Fatal("a second key did not resume")
	}
	p.send(autoplayTick{gen: p.a.gen - 1}) // a tick from before the pause is stale
	if p.screen() != before {
		t.Fatalf("a stale tick moved the autoplay:\n%s", p.screen())
	}
	p.send(autoplayTick{gen: p.a.gen}) // typed the domain; the next pause is an hour
	if got := p.a.Model().steps[flows.StepDomain].(*formStep).fields[0].input.Value(); got != flows.Spec(flows.FieldDomain).Example {
		t.Fatalf("resumed, the domain field holds %q:\n%s", got, p.screen())
	}
	if p.a.Model().Flow().Step() != flows.StepDomain {
		t.Fatalf("went past the domain before its pause:\n%s", p.screen())
	}

	p.send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	if !p.a.Stopped() || !p.quit || p.a.Finished() || p.a.Interrupted() {
		t.Fatalf("q: stopped %v, quit %v, finished %v", p.a.Stopped(), p.quit, p.a.Finished())
	}
	p.send(autoplayTick{gen: p.a.gen})
	if p.a.Model().Flow().Step() != flows.StepDomain {
		t.Fatal("moved after q")
	}
}

// TestAutoplayCtrlCStops: ctrl+c stops it too, as an interrupt.
func TestAutoplayCtrlCStops(t *testing.T) {
	t.Parallel()
	p := &player{t: t, a: NewAutoplay(autoplayStarter(t), Pace{Look: time.Hour}, flows.Providers()), wait: 20 * time.Millisecond}
	p.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	p.run(p.a.Init())
	p.send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	if !p.a.Stopped() || !p.a.Interrupted() || !p.quit {
		t.Fatalf("ctrl+c: stopped %v, interrupted %v, quit %v", p.a.Stopped(), p.a.Interrupted(), p.quit)
	}
}

// TestAutoplayWaitsForRoom: in a terminal too small for the wizard the
// autoplay waits (its keys would do nothing there); made large enough,
// it goes on.
func TestAutoplayWaitsForRoom(t *testing.T) {
	t.Parallel()
	p := &player{t: t, a: NewAutoplay(autoplayStarter(t), Pace{}, flows.Providers()[:1]), wait: 10 * time.Second}
	p.send(tea.WindowSizeMsg{Width: 40, Height: 12})
	p.run(p.a.Init())
	if st := p.a.Model().Flow().Step(); st != flows.StepDomain || p.a.Model().Flow().Value(flows.FieldDomain) != "" || p.quit {
		t.Fatalf("moved in a terminal too small, to %s:\n%s", st, p.screen())
	}
	p.send(tea.WindowSizeMsg{Width: 80, Height: 25})
	if !p.a.Finished() || !p.quit {
		t.Fatalf("did not go on once large enough:\n%s", p.screen())
	}
}
