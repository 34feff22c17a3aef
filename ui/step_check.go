package ui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// checkStep runs the pairing check and shows each check as it goes.
type checkStep struct {
	c    *Common
	job  job
	view viewport.Model

	target flows.Target
	checks []flows.Check
	err    error
}

type (
	checkUpdateMsg struct{ check flows.Check }
	checkDoneMsg   struct{ checks []flows.Check }
)

func newCheckStep(c *Common) *checkStep {
	vp := viewport.New()
	vp.SoftWrap = true
	return &checkStep{c: c, job: newJob(), view: vp}
}

func (s *checkStep) Enter(st *flows.State) tea.Cmd {
	s.err = nil
	t, err := st.Target()
	if err != nil {
		s.err = err
		return nil
	}
	if st.Paired() && t == s.target && len(s.checks) > 0 {
		return nil // passed already, and nothing changed since
	}
	s.target = t
	s.SetSize(s.c.Width, s.c.Height)
	return s.start()
}

func (s *checkStep) pairer() Pairer { return s.c.Deps.Pairing[s.target.Provider] }

func (s *checkStep) start() tea.Cmd {
	p := s.pairer()
	if p == nil {
		s.err = fmt.Errorf("the pairing check for %s is not available in this version", s.target.Provider.Title())
		return nil
	}
	s.checks = p.Plan(s.target)
	t := s.target
	return s.job.start(func(ctx context.Context, send func(tea.Msg)) {
		res := p.Run(ctx, t, func(c flows.Check) { send(checkUpdateMsg{c}) })
		send(checkDoneMsg{res})
	})
}

func (s *checkStep) Leave() {
	if s.job.running() {
		s.job.stop()
		s.checks = nil // cut short: run again when the step is entered
	}
}

func (s *checkStep) running() bool { return s.job.running() }

func (s *checkStep) SetSize(w, h int) {
	s.view.SetWidth(w)
	s.view.SetHeight(max(h-5, 3)) // heading, blank, scroll hint, summary
}

// firstFix is the earliest step that fixes a failed check, 0 if none.
func (s *checkStep) firstFix() flows.Step {
	var fix flows.Step
	for _, c := range s.checks {
		if c.Status == flows.StatusFail && c.Fix != 0 && (fix == 0 || c.Fix < fix) {
			fix = c.Fix
		}
	}
	return fix
}

func (s *checkStep) Update(msg tea.Msg) (component, tea.Cmd) {
	switch msg := msg.(type) {
	case streamMsg:
		if !s.job.owns(msg) {
			return s, nil
		}
		switch m := msg.msg.(type) {
		case checkUpdateMsg:
			for i := range s.checks {
				if s.checks[i].ID == m.check.ID {
					s.checks[i] = m.check
				}
			}
		case checkDoneMsg:
			s.job.stop()
			s.checks = m.checks
			return s, send(pairedMsg(m))
		}
		return s, listen(msg.ch)
	case spinner.TickMsg:
		return s, s.job.tick(msg)
	case tea.KeyPressMsg:
		k := s.c.Keys
		switch {
		case key.Matches(msg, k.Back):
			return s, send(backMsg{})
		case s.running():
		case key.Matches(msg, k.Next) && flows.Passed(s.checks):
			return s, send(submitMsg{})
		case key.Matches(msg, k.Retry):
			return s, s.start()
		case key.Matches(msg, k.Fix) && s.firstFix() != 0:
			return s, send(goBackToMsg{step: s.firstFix()})
		}
	}
	var cmd tea.Cmd
	s.view, cmd = s.view.Update(msg)
	return s, cmd
}

func (s *checkStep) View() string {
	st := s.c.Styles
	var b strings.Builder
	b.WriteString(st.Heading.Render("Pairing check: can "+s.target.Vendor.Name+" use the key?") + "\n\n")
	if s.err != nil {
		return b.String() + s.c.wrapIndented("✗ "+s.err.Error(), 0, st.Error)
	}
	s.view.SetContent(s.list())
	b.WriteString(s.view.View() + "\n")
	if !s.view.AtBottom() {
		b.WriteString(st.Muted.Render("↓ more below: ↑/↓ scroll") + "\n")
	}
	b.WriteString(s.summary())
	return b.String()
}

// list renders each check: a symbol and a status word (so the result
// never depends on colour) and the name; a passing check's detail follows
// on the same line when it fits, anything else on the lines below.
func (s *checkStep) list() string {
	st := s.c.Styles
	var lines []string
	for _, c := range s.checks {
		word := strings.ToUpper(c.Status.String())
		sym := c.Status.Symbol()
		if c.Status == flows.StatusRunning {
			sym, word = s.job.spin.View(), "…"
		}
		head := st.Status[c.Status].Render(fmt.Sprintf("%s %-4.4s", sym, word)) + "  " + st.Text.Render(c.Name)
		if c.Status == flows.StatusPass && c.Detail != "" && lipgloss.Width(head)+3+lipgloss.Width(c.Detail) <= s.c.Width {
			lines = append(lines, head+"   "+st.Muted.Render(c.Detail))
			continue
		}
		lines = append(lines, head)
		if c.Detail != "" {
			lines = append(lines, s.c.wrapIndented(c.Detail, 8, st.Muted))
		}
		if c.Remedy != "" && c.Status != flows.StatusPass {
			lines = append(lines, s.c.wrapIndented("→ "+c.Remedy, 8, st.Note))
		}
	}
	return strings.Join(lines, "\n")
}

func (s *checkStep) summary() string {
	st := s.c.Styles
	if s.running() {
		return st.Muted.Render("Checking… (esc stops)")
	}
	var failed, warned int
	for _, c := range s.checks {
		switch c.Status {
		case flows.StatusFail:
			failed++
		case flows.StatusWarn:
			warned++
		}
	}
	switch {
	case flows.Passed(s.checks) && warned > 0:
		return st.OK.Render("✓ Paired, with "+count(warned, "warning")+".") + " " + st.Text.Render("Press enter to finish.")
	case flows.Passed(s.checks):
		return st.OK.Render("✓ Paired.") + " " + st.Text.Render("Press enter to finish.")
	}
	msg := st.Error.Render("✗ " + count(failed, "check") + " failed.")
	if fix := s.firstFix(); fix != 0 {
		msg += " " + st.Text.Render("f: go to "+fix.Title()+" to fix it · r: run again")
	} else {
		msg += " " + st.Text.Render("Fix it as shown, then r: run again")
	}
	return msg
}

func (s *checkStep) Bindings() help.KeyMap {
	k := s.c.Keys
	switch {
	case s.running():
		return bindings{short: []key.Binding{k.Back, k.Quit}}
	case flows.Passed(s.checks):
		return bindings{short: []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "finish")), k.Retry, k.Back, k.Quit}}
	}
	short := []key.Binding{k.Retry}
	if s.firstFix() != 0 {
		short = append(short, k.Fix)
	}
	return bindings{short: append(short, k.Back, k.Quit)}
}
