package ui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// checkStep runs the pairing check and shows each check as it goes.
type checkStep struct {
	c    *Common
	keys checkKeys
	job  job[flows.Check, []flows.Check]
	view viewport.Model

	target  flows.Target
	checks  []flows.Check
	err     error
	stopped bool   // the customer stopped the check: its results are as they stood
	copied  string // the check whose command was copied, "" if none
	// waitLine is the line of the list last kept in view: the check that
	// is under way or waiting.
	waitLine int
	// settle asks the next layout to show the result from its start:
	// the first failed check, or the top.
	settle bool
	// tall: the list is taller than the room it has, and scrolls.
	tall bool
}

func newCheckStep(c *Common) *checkStep {
	vp := viewport.New()
	vp.SoftWrap = true
	keys := newCheckKeys(c.Keys)
	vp.KeyMap = keys.Scroll.viewport()
	return &checkStep{c: c, keys: keys, job: newJob[flows.Check, []flows.Check](c), view: vp}
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
	s.checks, s.stopped, s.waitLine, s.copied = p.Plan(s.target), false, -1, ""
	s.view.GotoTop()
	s.layout()
	t := s.target
	return s.job.start(func(ctx context.Context, progress func(flows.Check)) []flows.Check {
		return p.Run(ctx, t, progress)
	})
}

func (s *checkStep) Leave() {
	if s.job.running() {
		s.job.stop()
		s.checks = nil // cut short: run again when the step is entered
	}
}

func (s *checkStep) running() bool { return s.job.running() }

func (s *checkStep) SetSize(w, _ int) {
	s.view.SetWidth(w)
	s.layout() // the height follows the list
}

// passed reports whether the check ran to the end and passed.
func (s *checkStep) passed() bool { return !s.stopped && flows.Passed(s.checks) }

// stop ends the check where it stands: a check waiting for access to
// propagate keeps the denial it met, the others that had no result yet
// say they were stopped.
func (s *checkStep) stop() {
	s.job.stop()
	s.stopped, s.settle = true, true
	for i, c := range s.checks {
		switch {
		case c.Status.Done():
		case c.Wait != nil:
			s.checks[i].Status, s.checks[i].Wait = flows.StatusFail, nil
			s.checks[i].Detail = "access denied; stopped waiting (" + c.Wait.Why + ")"
		default:
			s.checks[i].Status = flows.StatusSkipped
			s.checks[i].Detail = "stopped before it had a result"
		}
	}
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
	cmd := s.update(msg)
	s.layout()
	return s, cmd
}

func (s *checkStep) update(msg tea.Msg) tea.Cmd {
	if cmd, ok := s.job.update(msg, s.progress, s.done); ok || stale(msg) {
		return cmd
	}
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		k := s.keys
		switch {
		case key.Matches(msg, k.Back):
			return send(backMsg{})
		case s.err != nil:
			return nil // nothing to run, stop or scroll
		case s.running() && key.Matches(msg, k.Stop):
			s.stop()
			return nil
		case s.running():
		case key.Matches(msg, k.Finish) && s.passed():
			return send(submitMsg{checks: s.checks})
		case key.Matches(msg, k.Retry):
			return s.start()
		case key.Matches(msg, k.Copy):
			if c, cmd := s.command(); cmd != "" {
				s.copied = c.Name
				return tea.SetClipboard(cmd)
			}
			return nil
		case key.Matches(msg, k.Fix) && s.firstFix() != 0:
			return send(goBackToMsg{step: s.firstFix()})
		}
	}
	var cmd tea.Cmd
	s.view, cmd = s.view.Update(msg)
	return cmd
}

// progress takes a check's result as it comes.
func (s *checkStep) progress(c flows.Check) {
	for i := range s.checks {
		if s.checks[i].ID == c.ID {
			s.checks[i] = c
		}
	}
}

// done takes the finished check.
func (s *checkStep) done(checks []flows.Check) tea.Cmd {
	s.checks, s.settle = checks, true
	return send(pairedMsg{checks: checks})
}

func (s *checkStep) View() string {
	st := s.c.Styles
	var b strings.Builder
	b.WriteString(st.Heading.Render("Pairing check: can "+s.target.Vendor.Name+" use the key?") + "\n\n")
	if s.err != nil {
		return b.String() + s.c.wrapIndented("✗ "+s.err.Error(), 0, st.Error)
	}
	b.WriteString(s.view.View() + "\n")
	if s.tall {
		var where []string
		if !s.view.AtTop() {
			where = append(where, "↑ more above")
		}
		if !s.view.AtBottom() {
			where = append(where, "↓ more below")
		}
		b.WriteString(st.Muted.Render(truncate(strings.Join(where, ", ")+": ↑/↓ scroll", s.c.Width)) + "\n")
	}
	b.WriteString("\n" + s.summary())
	return b.String()
}

// layout fits the list of checks to the body: it takes the lines it
// needs, up to what the summary leaves, so the summary sits right after
// the checks and is always seen. Called whenever the checks, the summary
// or the size change.
func (s *checkStep) layout() {
	if s.err != nil {
		return
	}
	list, wait, firstFail := s.list()
	s.view.SetContent(list)
	n := lipgloss.Height(list)
	avail := max(s.c.Height-3-lipgloss.Height(s.summary()), 2)
	s.tall = n > avail
	if !s.tall {
		s.view.SetHeight(n)
		s.view.GotoTop()
	} else {
		s.view.SetHeight(avail - 1)
		if s.settle {
			s.view.SetYOffset(max(firstFail, 0))
		}
		// The check under way (its countdown) stays in view each time
		// it moves on; in between, the customer may scroll.
		if wait[0] >= 0 && wait[0] != s.waitLine {
			s.waitLine = wait[0]
			if wait[0] < s.view.YOffset() || wait[1] >= s.view.YOffset()+s.view.Height() {
				s.view.SetYOffset(max(wait[1]-s.view.Height()+1, 0))
			}
		}
	}
	s.settle = false
}

// list renders each check: a symbol and a status word (so the result
// never depends on colour) and the name; a passing check's detail follows
// on the same line when it fits, anything else on the lines below.
//
// It also returns the first and last line of the first check under way,
// -1 when none is, and the first line of the first failed check.
func (s *checkStep) list() (string, [2]int, int) {
	st := s.c.Styles
	var blocks []string
	wait, firstFail := [2]int{-1, -1}, -1
	at := 0 // the line the next check starts on
	for _, c := range s.checks {
		var lines []string
		word := strings.ToUpper(c.Status.String())
		sym := c.Status.Symbol()
		if c.Status == flows.StatusRunning {
			sym, word = s.job.spin.View(), "…"
		}
		head := st.Status[c.Status].Render(fmt.Sprintf("%s %-4.4s", sym, word)) + "  " + st.Text.Render(c.Name)
		if c.Status == flows.StatusPass && c.Detail != "" && blockWidth(head)+3+blockWidth(c.Detail) <= s.c.Width {
			lines = append(lines, head+"   "+st.Muted.Render(c.Detail))
		} else {
			lines = append(lines, head)
			if c.Detail != "" {
				lines = append(lines, s.c.wrapIndented(c.Detail, 8, st.Muted))
			}
			if c.Remedy != "" && c.Status != flows.StatusPass {
				lines = append(lines, s.remedy(c.Remedy))
			}
		}
		block := strings.Join(lines, "\n")
		h := lipgloss.Height(block)
		if c.Status == flows.StatusRunning && wait[0] < 0 {
			wait = [2]int{at, at + h - 1}
		}
		if c.Status == flows.StatusFail && firstFail < 0 {
			firstFail = at
		}
		at += h
		blocks = append(blocks, block)
	}
	return strings.Join(blocks, "\n"), wait, firstFail
}

func (s *checkStep) summary() string {
	st := s.c.Styles
	if s.running() {
		return s.c.wrap("Checking… s: stop waiting and show the results as they stand · esc: back to "+s.back()+".", st.Muted)
	}
	copied := ""
	if s.copied != "" {
		copied = s.c.wrap("✓ Copied the command for \""+s.copied+"\" through your terminal (OSC 52).", st.OK) + "\n"
	}
	var failed, warned, open int
	for _, c := range s.checks {
		switch c.Status {
		case flows.StatusFail:
			failed++
		case flows.StatusWarn:
			warned++
		case flows.StatusSkipped:
			if s.stopped {
				open++
			}
		}
	}
	switch {
	case s.passed() && warned > 0:
		return copied + st.OK.Render("✓ Paired, with "+count(warned, "warning")+".") + "\n" + s.c.wrap("Press enter to finish.", st.Text)
	case s.passed():
		return st.OK.Render("✓ Paired.") + "\n" + s.c.wrap("Press enter to finish.", st.Text)
	}
	var head string
	switch {
	case s.stopped && failed > 0:
		head = fmt.Sprintf("✗ Stopped: %s failed, %s not finished.", count(failed, "check"), fmt.Sprint(open))
	case s.stopped:
		head = fmt.Sprintf("✗ Stopped: %s not finished.", count(open, "check"))
	default:
		head = "✗ " + count(failed, "check") + " failed."
	}
	next := "Fix it as shown, then r: run again."
	if fix := s.firstFix(); fix != 0 {
		next = "f: go to " + fix.Title() + " to fix it · r: run again."
	} else if s.stopped && failed == 0 {
		next = "r: run the check again."
	}
	if _, cmd := s.command(); cmd != "" {
		next += " c: copy the command."
	}
	return copied + st.Error.Render(head) + "\n" + s.c.wrap(next, st.Text)
}

// remedy shows a check's remedy under it: its words, and the command it
// names as lines that copy as one command.
func (s *checkStep) remedy(r string) string {
	st := s.c.Styles
	before, cmd, after, ok := remedyCommand(r)
	if !ok {
		return s.c.wrapIndented("→ "+r, 8, st.Note)
	}
	if before == "" {
		before = "run:"
	}
	// The command gets the width of the screen, so that an ARN fits.
	out := []string{s.c.wrapIndented("→ "+before, 8, st.Note), s.c.command(cmd, "c copies it whole")}
	if after != "" {
		out = append(out, s.c.wrapIndented(after, 8, st.Note))
	}
	return strings.Join(out, "\n")
}

// command is the first failed check's command (a warning's when none
// failed): what c copies.
func (s *checkStep) command() (flows.Check, string) {
	for _, want := range []flows.Status{flows.StatusFail, flows.StatusWarn} {
		for _, c := range s.checks {
			if _, cmd, _, ok := remedyCommand(c.Remedy); ok && c.Status == want {
				return c, cmd
			}
		}
	}
	return flows.Check{}, ""
}

// back is the step esc goes back to.
func (s *checkStep) back() string { return "Apply" }

func (s *checkStep) Bindings() help.KeyMap {
	k := s.keys
	var more []key.Binding
	if !s.view.AtTop() || !s.view.AtBottom() {
		more = k.Scroll.all() // the list is taller than its room
	}
	_, cmd := s.command()
	switch {
	case s.err != nil:
		return bindings{short: []key.Binding{k.Back, k.Quit}}
	case s.running():
		return bindings{short: []key.Binding{k.Stop, k.Back, k.Quit}, more: more}
	case s.passed():
		short := []key.Binding{k.Finish, k.Retry}
		if cmd != "" {
			short = append(short, k.Copy) // a warning's command
		}
		return bindings{short: append(short, k.Back, k.Quit), more: more}
	}
	short := []key.Binding{k.Retry}
	if s.firstFix() != 0 {
		short = append(short, k.Fix)
	}
	if cmd != "" {
		short = append(short, k.Copy)
	}
	return bindings{short: append(short, k.Back, k.Quit), more: more}
}
