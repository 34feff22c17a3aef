package ui

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui/termtext"
)

// Planner is a Setuper that can say, with read-only calls, what it will
// do: who is signed in, what it changes and keeps, the key policy before
// and after. "Set it up for me" shows that before asking.
type Planner interface {
	Plan(ctx context.Context, spec flows.SetupSpec) (flows.SetupPlan, error)
}

// ErrNoPlan is a Planner's answer when the set-up it stands for cannot
// read a plan first: the consent screen then asks without one.
var ErrNoPlan = errors.New("this set-up reads no plan first")

// StatementReplacer is a Setuper that can replace a different statement under the
// vendor's Sid, once the customer has confirmed what that loses.
type StatementReplacer interface {
	RunReplacing(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error)
}

// planResult is the plan, or why it could not be made.
type planResult struct {
	plan flows.SetupPlan
	err  error
}

// consent is where the script step's "set it up for me" stands before
// anything runs: the plan read, and which question is asked.
type consent struct {
	planning bool
	plan     *flows.SetupPlan
	err      error
	// lastCheck is set once the customer said yes to a plan that replaces
	// a statement: the second question, naming what is lost, is asked.
	lastCheck bool
	// replace is set once both questions were answered yes.
	replace bool
}

// startPlan asks for the plan (when the provider can make one) and
// shows the consent screen.
func (s *scriptStep) startPlan() tea.Cmd {
	s.mode, s.consent = scriptConfirmRun, consent{}
	p, ok := s.c.Deps.Setup[s.spec.Provider].(Planner)
	if !ok {
		return nil
	}
	s.consent.planning = true
	spec := s.spec
	return s.planner.start(func(ctx context.Context, _ func(none)) planResult {
		plan, err := p.Plan(ctx, spec)
		return planResult{plan: plan, err: err}
	})
}

func (s *scriptStep) planDone(m planResult) tea.Cmd {
	s.consent.planning = false
	if errors.Is(m.err, ErrNoPlan) {
		return nil // asked plainly, as for a set-up that cannot plan
	}
	if m.err != nil {
		s.consent.err = m.err
		return nil
	}
	s.consent.plan = &m.plan
	return nil
}

// canConsent is whether y means anything on the consent screen: not
// while the plan is read, not when it failed, not for a statement the
// set-up cannot replace.
func (s *scriptStep) canConsent() bool {
	c := s.consent
	if c.planning || c.err != nil {
		return false
	}
	if c.plan != nil && c.plan.Conflict != nil {
		_, ok := s.c.Deps.Setup[s.spec.Provider].(StatementReplacer)
		return ok
	}
	return true
}

// confirmKey answers the consent screen's question.
func (s *scriptStep) confirmKey(msg tea.KeyPressMsg) tea.Cmd {
	k := s.keys
	c := &s.consent
	switch {
	case key.Matches(msg, k.No):
		s.planner.stop()
		s.mode, s.consent = scriptViewing, consent{}
		return nil
	case !key.Matches(msg, k.Yes) || c.planning || c.err != nil:
		return nil
	case c.plan != nil && c.plan.Conflict != nil && !c.lastCheck:
		if _, ok := s.c.Deps.Setup[s.spec.Provider].(StatementReplacer); !ok {
			return nil
		}
		c.lastCheck = true
		return nil
	case c.plan != nil && c.plan.Conflict != nil:
		c.replace = true
	}
	return s.run()
}

// runSetup is the call "set it up for me" makes: replacing the vendor's
// statement only when the customer confirmed it twice.
func (s *scriptStep) runSetup() func(context.Context, flows.SetupSpec, func(flows.SetupEvent)) (flows.SetupResult, error) {
	setup := s.c.Deps.Setup[s.spec.Provider]
	if r, ok := setup.(StatementReplacer); ok && s.consent.replace {
		return r.RunReplacing
	}
	return setup.Run
}

// confirmView shows what "set it up for me" will do, and asks.
func (s *scriptStep) confirmView() string {
	plan, conflict := s.confirmParts()
	return plan + conflict
}

// confirmAnchor is the line of the consent screen kept in view when it
// is taller than the screen: the top of a plan, where it says who is
// signed in and what will change, as it opens (the footer has y and n,
// and the last row says there is more below); a conflicting statement
// where one is found; the question that names what is lost once it is
// asked; the last line while the plan is read or when it failed.
func (s *scriptStep) confirmAnchor() int {
	plan, conflict := s.confirmParts()
	c := s.consent
	switch {
	case c.plan == nil:
		return strings.Count(plan, "\n")
	case conflict == "":
		return 0
	case c.lastCheck:
		return strings.Count(plan+conflict, "\n")
	}
	return strings.Count(plan, "\n") + 1 // the conflict starts on a line of its own
}

// confirmParts is the consent screen: the plan, and the conflicting
// statement when there is one.
func (s *scriptStep) confirmParts() (plan, conflict string) {
	st := s.c.Styles
	c := s.consent
	var b strings.Builder
	b.WriteString(st.Heading.Render("Set it up for me") + "\n\n")
	b.WriteString(s.c.wrap(s.setupPlan(), st.Text) + "\n\n")
	switch {
	case c.planning:
		b.WriteString(s.planner.spin.View() + " " + st.Muted.Render("Reading what is there (read-only calls)… (n/esc stops)"))
		return b.String(), ""
	case c.err != nil:
		b.WriteString(s.c.wrapIndented("✗ Could not read what is there: "+termtext.Text(c.err.Error()), 0, st.Error) + "\n")
		b.WriteString(st.Muted.Render("Nothing was changed. n/esc: back to the script"))
		return b.String(), ""
	case c.plan == nil:
		b.WriteString(st.Label.Render("Go ahead? ") + st.Muted.Render("y / n"))
		return b.String(), ""
	}
	p := c.plan
	b.WriteString(st.Label.Render("Signed in") + "\n")
	home := "account"
	if p.Home != "" {
		home = p.Home
	}
	b.WriteString(s.c.wrapIndented(home+" "+termtext.Text(p.Account)+" as "+termtext.Text(p.Caller), 2, st.Value) + "\n")
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		b.WriteString(st.Label.Render(title) + "\n")
		for _, it := range items {
			b.WriteString(s.bullet(it, st.Text) + "\n")
		}
	}
	list("It will", p.Changes)
	list("Already in place, kept as it is", p.Kept)
	if p.PolicyDiff != "" {
		b.WriteString(st.Label.Render("The key policy, before (-) and after (+)") + "\n")
		b.WriteString(s.diffView(p.PolicyDiff))
	}
	if p.UserPolicy != "" {
		b.WriteString(st.Label.Render("The user's inline policy") + "\n")
		b.WriteString(s.pre(p.UserPolicy, st.Value))
	}
	if len(p.Changes) == 0 {
		b.WriteString(st.OK.Render("✓ Everything is in place; nothing will change.") + "\n")
	}
	if p.Conflict != nil {
		return b.String(), s.conflictView(p.Conflict)
	}
	b.WriteString("\n" + st.Label.Render("Go ahead? ") + st.Muted.Render("y / n"))
	return b.String(), ""
}

// conflictView shows a different statement under the vendor's Sid beside
// rekwiz's, and asks (twice) before replacing it.
func (s *scriptStep) conflictView(cf *flows.StatementConflict) string {
	st := s.c.Styles
	var b strings.Builder
	// Where names a whole policy (the service account's user policy);
	// empty is a statement in the key policy.
	what, in, ours := "The key policy already has a statement "+termtext.Text(cf.Sid), "The statement in the key policy", "The statement rekwiz writes"
	fix := "remove it or give it another Sid yourself"
	if cf.Where != "" {
		where := termtext.Text(cf.Where)
		what, in, ours = capitalise(where)+" is already there", capitalise(where), "The policy rekwiz writes"
		fix = "change it yourself"
	}
	b.WriteString("\n" + s.c.wrapIndented("✗ "+what+", and it is not the one rekwiz writes. rekwiz changes it only if you confirm, twice; or say n, then "+fix+".", 0, st.Error) + "\n")
	b.WriteString(st.Label.Render(in) + "\n")
	b.WriteString(s.pre(cf.Existing, st.Value))
	b.WriteString(st.Label.Render(ours) + "\n")
	b.WriteString(s.pre(cf.Ours, st.Value))
	if _, ok := s.c.Deps.Setup[s.spec.Provider].(StatementReplacer); !ok {
		b.WriteString(st.Muted.Render("n/esc: back"))
		return b.String()
	}
	if s.consent.lastCheck {
		b.WriteString("\n" + s.c.wrapIndented("Replacing it loses what "+strings.ToLower(in[:1])+in[1:]+" says and rekwiz's does not:", 0, st.Note) + "\n")
		for _, l := range cf.Losses {
			b.WriteString(s.bullet(l, st.Note) + "\n")
		}
		replace := "statement " + termtext.Text(cf.Sid)
		if cf.Where != "" {
			replace = termtext.Text(cf.Where)
		}
		b.WriteString(st.Label.Render("Replace "+replace+" and go ahead? ") + st.Muted.Render("y / n"))
		return b.String()
	}
	b.WriteString("\n" + st.Label.Render("Go ahead, replacing it? ") + st.Muted.Render("y / n"))
	return b.String()
}

// bullet is one item of a plan: capitalised whatever the provider wrote,
// and wrapped lines hang under its text, not under the bullet.
func (s *scriptStep) bullet(item string, style lipgloss.Style) string {
	t := capitalise(termtext.Text(item))
	lines := strings.Split(breakLong(t, max(s.c.Width-4, 10)), "\n")
	for i, l := range lines {
		lead := "    "
		if i == 0 {
			lead = "  • "
		}
		lines[i] = lead + style.Render(l)
	}
	return strings.Join(lines, "\n")
}

// diffView colours a unified diff: removed lines red, added green.
func (s *scriptStep) diffView(d string) string {
	st := s.c.Styles
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
		style := st.Muted
		switch {
		case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "@@"):
		case strings.HasPrefix(l, "-"):
			style = st.Error
		case strings.HasPrefix(l, "+"):
			style = st.OK
		default:
			style = st.Text
		}
		b.WriteString(s.preMarked(l, style))
	}
	return b.String()
}

// preMarked is one diff line: where it is too long for the screen, each
// continuation starts with the line's own marker (- or +, in its colour)
// and ↪, so it never reads as unchanged.
func (s *scriptStep) preMarked(l string, style lipgloss.Style) string {
	marker := ""
	if !strings.HasPrefix(l, "---") && !strings.HasPrefix(l, "+++") && (strings.HasPrefix(l, "-") || strings.HasPrefix(l, "+")) {
		marker = l[:1]
	}
	w := max(s.c.Width-2, 10)
	r := []rune(termtext.Text(l))
	var b strings.Builder
	first := true
	for len(r) > 0 || first {
		n := min(len(r), w)
		lead := ""
		if !first {
			lead = marker + "↪ "
			n = min(len(r), max(w-blockWidth(lead), 1))
		}
		b.WriteString("  " + style.Render(lead+string(r[:n])) + "\n")
		r, first = r[n:], false
	}
	return b.String()
}

// pre shows preformatted text (JSON, a diff) indented two columns, its
// spaces kept, a line too long for the screen continued on the next.
func (s *scriptStep) pre(text string, style lipgloss.Style) string {
	w := max(s.c.Width-2, 10)
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(termtext.Text(text), "\n"), "\n") {
		r := []rune(l)
		for {
			n := min(len(r), w)
			b.WriteString("  " + style.Render(string(r[:n])) + "\n")
			r = r[n:]
			if len(r) == 0 {
				break
			}
		}
	}
	return b.String()
}

// setupPlan says, in one paragraph, what "set it up for me" will do.
func (s *scriptStep) setupPlan() string {
	sp := s.spec
	who := "with " + sp.Provider.Cloud().SignIn()
	if s.c.Deps.Demo {
		who = "as the sandbox's customer admin"
	}
	return "rekwiz will make the calls the script makes, " + who + ", " + sp.Describe() + " Nothing is deleted."
}

// capitalise upper-cases a sentence's first letter.
func capitalise(t string) string {
	if r := []rune(t); len(r) > 0 {
		return strings.ToUpper(string(r[0])) + string(r[1:])
	}
	return t
}
