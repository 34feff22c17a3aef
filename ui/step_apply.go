package ui

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// applyStep registers the key with the domain.
type applyStep struct {
	c    *Common
	keys applyKeys
	// ask asks the registry what registering would replace; register
	// registers (or tests a registered key).
	ask      job[none, priorResult]
	register job[none, applyResult]

	target  flows.Target
	receipt *flows.Receipt
	err     error
	// prior is the domain's registration of another key, which this one
	// would replace: shown, and asked about, before anything is written.
	prior *Registration
}

// The results of the apply step's work.
type (
	applyResult struct {
		receipt flows.Receipt
		err     error
	}
	priorResult struct {
		prior Registration
		found bool
		err   error
	}
)

func newApplyStep(c *Common) *applyStep {
	return &applyStep{c: c, keys: newApplyKeys(c.Keys), ask: newJob[none, priorResult](c), register: newJob[none, applyResult](c)}
}

// running reports whether work is under way: asking or registering.
func (a *applyStep) running() bool { return a.ask.running() || a.register.running() }

func (a *applyStep) Enter(st *flows.State) tea.Cmd {
	a.err = nil
	t, err := st.Target()
	if err != nil {
		a.err = err
		return nil
	}
	a.target, a.receipt, a.prior = t, st.Receipt(), nil
	if a.receipt != nil {
		return nil // registered already, and nothing changed since
	}
	return a.begin()
}

// begin registers the key, first asking the registry what that would
// replace, when it can say.
func (a *applyStep) begin() tea.Cmd {
	a.err, a.prior = nil, nil
	t := a.target
	if rp, ok := a.c.Deps.Registry.(Replacer); ok {
		return a.ask.start(func(ctx context.Context, _ func(none)) priorResult {
			old, found, err := rp.Replaces(ctx, t)
			return priorResult{prior: old, found: found, err: err}
		})
	}
	return a.start()
}

func (a *applyStep) start() tea.Cmd {
	a.err, a.receipt = nil, nil
	reg, t := a.c.Deps.Registry, a.target
	return a.register.start(func(ctx context.Context, _ func(none)) applyResult {
		r, err := reg.Register(ctx, t)
		return applyResult{receipt: r, err: err}
	})
}

// existing is the key ID the domain has this key under, when the apply
// failed because it is registered already and the registry can test it.
func (a *applyStep) existing() (string, Retester) {
	var dup interface{ ExistingRekID() string }
	rt, ok := a.c.Deps.Registry.(Retester)
	if !ok || !errors.As(a.err, &dup) || dup.ExistingRekID() == "" {
		return "", nil
	}
	return dup.ExistingRekID(), rt
}

func (a *applyStep) retest() tea.Cmd {
	id, rt := a.existing()
	a.err, a.receipt = nil, nil
	t := a.target
	return a.register.start(func(ctx context.Context, _ func(none)) applyResult {
		r, err := rt.Retest(ctx, t, id)
		return applyResult{receipt: r, err: err}
	})
}

func (a *applyStep) Leave()           { a.ask.stop(); a.register.stop() }
func (a *applyStep) SetSize(int, int) {}

func (a *applyStep) Update(msg tea.Msg) (component, tea.Cmd) {
	if cmd, ok := a.ask.update(msg, nil, a.asked); ok {
		return a, cmd
	}
	if cmd, ok := a.register.update(msg, nil, a.registered); ok {
		return a, cmd
	}
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		k := a.keys
		if a.prior != nil && !a.running() && a.receipt == nil && a.err == nil {
			switch {
			case key.Matches(msg, k.Replace):
				a.prior = nil
				return a, a.start()
			case key.Matches(msg, k.Keep):
				return a, send(backMsg{})
			}
			return a, nil
		}
		switch {
		case key.Matches(msg, k.Back):
			return a, send(backMsg{})
		case key.Matches(msg, k.Check) && a.receipt != nil:
			return a, send(submitMsg{receipt: a.receipt})
		case key.Matches(msg, k.Retry) && a.err != nil && !a.running():
			return a, a.begin()
		case key.Matches(msg, k.Retest) && !a.running():
			if id, _ := a.existing(); id != "" {
				return a, a.retest()
			}
		}
	}
	return a, nil
}

// asked takes the registry's answer to what registering would replace.
func (a *applyStep) asked(p priorResult) tea.Cmd {
	switch {
	case p.err != nil:
		a.err = p.err
	case p.found:
		a.prior = &p.prior
	default:
		return a.start()
	}
	return nil
}

// registered takes the registration's (or the test's) result.
func (a *applyStep) registered(m applyResult) tea.Cmd {
	if m.err != nil {
		a.err = m.err
		return nil
	}
	a.receipt = &m.receipt
	return send(appliedMsg{receipt: m.receipt})
}

func (a *applyStep) View() string {
	st := a.c.Styles
	var b strings.Builder
	b.WriteString(st.Heading.Render("Register the key with "+a.target.Domain) + "\n\n")
	switch {
	case a.running() && a.prior == nil && a.receipt == nil && a.err == nil:
		b.WriteString(a.spinner() + " " + st.Text.Render("Registering…"))
	case a.prior != nil && a.receipt == nil && a.err == nil:
		p := a.prior
		b.WriteString(a.c.wrap(a.target.Domain+" has another key registered already:", st.Note) + "\n\n")
		b.WriteString(a.c.fieldLine("Key ID    ", p.RekID) + "\n")
		if pr, err := flows.ParseProvider(p.Provider); err == nil {
			b.WriteString(a.c.fieldLine("Provider  ", pr.Title()) + "\n")
		}
		b.WriteString(a.c.fieldLine("Key       ", p.Key) + "\n")
		if !p.At.IsZero() {
			b.WriteString(a.c.fieldLine("Registered", p.At.UTC().Format("2006-01-02 15:04 UTC")) + "\n")
		}
		b.WriteString("\n" + a.c.wrap("Replace it with this key? The old entry is removed from the registry; the old key itself stays as it is.", st.Text) + "\n")
		b.WriteString(st.Label.Render("y") + st.Text.Render(": replace it · ") + st.Label.Render("n/esc") + st.Text.Render(": back, nothing changed"))
	case a.err != nil:
		b.WriteString(a.c.wrapIndented("✗ "+a.err.Error(), 0, st.Error) + "\n\n")
		if id, _ := a.existing(); id != "" {
			b.WriteString(st.Muted.Render("t: test " + id + " instead · r: try again · esc: back"))
		} else {
			b.WriteString(st.Muted.Render("r: try again · esc: back"))
		}
	case a.receipt != nil:
		b.WriteString(st.OK.Render("✓ Registered") + "\n\n")
		b.WriteString(a.c.fieldLine("Key ID    ", a.receipt.RekID) + "\n")
		b.WriteString(a.c.fieldLine("Where     ", a.receipt.Where) + "\n")
		if a.receipt.Test != "" {
			b.WriteString(a.c.fieldLine("Tested    ", a.receipt.Test) + "\n")
		}
		b.WriteString("\n")
		b.WriteString(a.c.wrap("Next, the pairing check proves that "+a.target.Vendor.Name+" can use the key: press enter.", st.Text))
	}
	return b.String()
}

// spinner is the spinner of the work under way.
func (a *applyStep) spinner() string {
	if a.ask.running() {
		return a.ask.spin.View()
	}
	return a.register.spin.View()
}

func (a *applyStep) Bindings() help.KeyMap {
	k := a.keys
	switch {
	case a.prior != nil && a.receipt == nil && a.err == nil:
		return bindings{short: []key.Binding{k.Replace, k.Keep, k.Quit}}
	case a.receipt != nil:
		return bindings{short: []key.Binding{k.Check, k.Back, k.Quit}}
	case a.err != nil:
		if id, _ := a.existing(); id != "" {
			return bindings{short: []key.Binding{k.Retest, k.Retry, k.Back, k.Quit}}
		}
		return bindings{short: []key.Binding{k.Retry, k.Back, k.Quit}}
	}
	return bindings{short: []key.Binding{k.Back, k.Quit}}
}

// arrowsScroll: the result scrolls with ↑/↓ when it is taller than the
// screen.
func (a *applyStep) arrowsScroll() bool { return true }

// anchor keeps the question in view while the old entry is shown.
func (a *applyStep) anchor() int {
	if a.prior != nil && a.receipt == nil && a.err == nil && !a.running() {
		return strings.Count(a.View(), "\n")
	}
	return -1
}
