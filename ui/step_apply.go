package ui

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// retestKey tests a key the domain has registered already.
var retestKey = key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "test the registered key"))

// applyStep registers the key with the domain.
type applyStep struct {
	c   *Common
	job job

	target  flows.Target
	receipt *flows.Receipt
	err     error
	// prior is the domain's registration of another key, which this one
	// would replace: shown, and asked about, before anything is written.
	prior *Registration
}

type (
	applyDoneMsg struct {
		receipt flows.Receipt
		err     error
	}
	priorMsg struct {
		prior Registration
		found bool
		err   error
	}
)

func newApplyStep(c *Common) *applyStep {
	return &applyStep{c: c, job: newJob(c)}
}

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
		return a.job.start(func(ctx context.Context, send func(tea.Msg)) {
			old, found, err := rp.Replaces(ctx, t)
			send(priorMsg{prior: old, found: found, err: err})
		})
	}
	return a.start()
}

func (a *applyStep) start() tea.Cmd {
	a.err, a.receipt = nil, nil
	reg, t := a.c.Deps.Registry, a.target
	return a.job.start(func(ctx context.Context, send func(tea.Msg)) {
		r, err := reg.Register(ctx, t)
		send(applyDoneMsg{receipt: r, err: err})
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
	return a.job.start(func(ctx context.Context, send func(tea.Msg)) {
		r, err := rt.Retest(ctx, t, id)
		send(applyDoneMsg{receipt: r, err: err})
	})
}

func (a *applyStep) Leave()           { a.job.stop() }
func (a *applyStep) SetSize(int, int) {}

func (a *applyStep) Update(msg tea.Msg) (component, tea.Cmd) {
	switch msg := msg.(type) {
	case streamMsg:
		if !a.job.owns(msg) {
			return a, nil
		}
		if p, ok := msg.msg.(priorMsg); ok {
			a.job.stop()
			switch {
			case p.err != nil:
				a.err = p.err
			case p.found:
				a.prior = &p.prior
			default:
				return a, a.start()
			}
			return a, nil
		}
		m, ok := msg.msg.(applyDoneMsg)
		if !ok {
			return a, nil
		}
		a.job.stop()
		if m.err != nil {
			a.err = m.err
			return a, nil
		}
		a.receipt = &m.receipt
		return a, send(appliedMsg{receipt: m.receipt})
	case spinner.TickMsg:
		return a, a.job.tick(msg)
	case tea.KeyPressMsg:
		k := a.c.Keys
		if a.prior != nil && !a.job.running() && a.receipt == nil && a.err == nil {
			switch {
			case key.Matches(msg, k.Yes):
				a.prior = nil
				return a, a.start()
			case key.Matches(msg, k.No):
				return a, send(backMsg{})
			}
			return a, nil
		}
		switch {
		case key.Matches(msg, k.Back):
			return a, send(backMsg{})
		case key.Matches(msg, k.Next) && a.receipt != nil:
			return a, send(submitMsg{receipt: a.receipt})
		case key.Matches(msg, k.Retry) && a.err != nil && !a.job.running():
			return a, a.begin()
		case key.Matches(msg, retestKey) && !a.job.running():
			if id, _ := a.existing(); id != "" {
				return a, a.retest()
			}
		}
	}
	return a, nil
}

func (a *applyStep) View() string {
	st := a.c.Styles
	var b strings.Builder
	b.WriteString(st.Heading.Render("Register the key with "+a.target.Domain) + "\n\n")
	switch {
	case a.job.running() && a.prior == nil && a.receipt == nil && a.err == nil:
		b.WriteString(a.job.spin.View() + " " + st.Text.Render("Registering…"))
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

func (a *applyStep) Bindings() help.KeyMap {
	k := a.c.Keys
	switch {
	case a.prior != nil && a.receipt == nil && a.err == nil:
		return bindings{short: []key.Binding{key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "replace")), key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "back")), k.Quit}}
	case a.receipt != nil:
		return bindings{short: []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "pairing check")), k.Back, k.Quit}}
	case a.err != nil:
		if id, _ := a.existing(); id != "" {
			return bindings{short: []key.Binding{retestKey, k.Retry, k.Back, k.Quit}}
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
	if a.prior != nil && a.receipt == nil && a.err == nil && !a.job.running() {
		return strings.Count(a.View(), "\n")
	}
	return -1
}
