package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// resumeStep is the screen shown before a step when progress was
// saved: before the first step, the offer of every unfinished domain, to
// resume at the step it reached, or start over; and, before a domain
// with saved progress is started over, the question whether to discard
// that progress. The root shows it in place of the current step while it
// is up, and routes to it as to a step.
type resumeStep struct {
	c      *Common
	keys   resumeKeys
	snaps  []flows.Snapshot // newest first; none when only asking
	cursor int              // an index of snaps; len(snaps) is "start over"
	// domain is the flow's domain when the offer was made (given on the
	// command line), "" if none.
	domain string
	// ask, when set, is the question before starting a domain over.
	ask *discardAsk
}

// discardAsk asks before starting over on a domain whose progress was
// saved: going on replaces that progress.
type discardAsk struct {
	snap   flows.Snapshot
	submit *submitMsg // the domain step's answer waiting on the question; nil from the offer
}

// Messages of the resume screen to the root.
type (
	// resumeMsg resumes saved progress.
	resumeMsg struct{ snap flows.Snapshot }
	// startOverMsg starts the flow (over), discarding the saved progress
	// of the domain named, if any; submit is the domain step's answer to
	// go on with, when it was that answer that asked.
	startOverMsg struct {
		discard string
		submit  *submitMsg
	}
	// resumeClosedMsg closes the question asked on the domain step,
	// leaving everything as it was.
	resumeClosedMsg struct{}
)

// newResumeOffer is the offer of saved progress before the first step.
func newResumeOffer(c *Common, snaps []flows.Snapshot) *resumeStep {
	return &resumeStep{c: c, keys: newResumeKeys(c.Keys), snaps: snaps}
}

// newDiscardAsk is the question before the domain step's answer starts
// over a domain with saved progress.
func newDiscardAsk(c *Common, snap flows.Snapshot, submit submitMsg) *resumeStep {
	return &resumeStep{c: c, keys: newResumeKeys(c.Keys), ask: &discardAsk{snap: snap, submit: &submit}}
}

func (r *resumeStep) Enter(s *flows.State) tea.Cmd {
	r.domain = s.Value(flows.FieldDomain)
	return nil
}

func (r *resumeStep) Leave()           {}
func (r *resumeStep) SetSize(int, int) {}

func (r *resumeStep) Update(msg tea.Msg) (component, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return r, nil
	}
	if r.ask != nil {
		return r, r.answer(k)
	}
	switch {
	case key.Matches(k, r.keys.Up):
		r.cursor = max(r.cursor-1, 0)
	case key.Matches(k, r.keys.Down):
		r.cursor = min(r.cursor+1, len(r.snaps))
	case key.Matches(k, r.keys.Go):
		if r.cursor < len(r.snaps) {
			return r, send(resumeMsg{snap: r.snaps[r.cursor]})
		}
		if snap, ok := r.c.savedFor(r.domain); ok {
			// Starting over on the domain given: ask first.
			r.ask = &discardAsk{snap: snap}
			return r, nil
		}
		return r, send(startOverMsg{})
	}
	return r, nil
}

// answer answers the question before starting over.
func (r *resumeStep) answer(k tea.KeyPressMsg) tea.Cmd {
	d := r.ask
	switch {
	case key.Matches(k, r.keys.Discard):
		return send(startOverMsg{discard: d.snap.Domain, submit: d.submit})
	case key.Matches(k, r.keys.Resume):
		// The flow is at its first step still (the offer, or the domain
		// step): it can take saved progress.
		return send(resumeMsg{snap: d.snap})
	case key.Matches(k, r.keys.Keep):
		r.ask = nil
		if d.submit != nil {
			return send(resumeClosedMsg{})
		}
	}
	return nil
}

// secretAskedAgain is the secret that resuming a snapshot asks for again
// (a service account's secret access key is never saved); ok is false
// when resuming asks for none.
func secretAskedAgain(s flows.Snapshot) (spec flows.FieldSpec, ok bool) {
	p, err := flows.ParseProvider(s.Values[flows.FieldProvider])
	if err != nil || s.Step < flows.StepPaste {
		return flows.FieldSpec{}, false
	}
	f, ok := p.SecretField()
	return flows.Spec(f), ok
}

// describe is a snapshot as the offer lists it: where it was left, and
// what resuming it asks again.
func (r *resumeStep) describe(s flows.Snapshot) (string, string) {
	title := s.Domain + ": resume at " + s.Step.Title()
	var about []string
	if p, err := flows.ParseProvider(s.Values[flows.FieldProvider]); err == nil {
		about = append(about, p.Title())
	}
	about = append(about, "saved "+ago(r.c.Deps.Now().Sub(s.Saved)))
	detail := strings.Join(about, " · ")
	if secret, ok := secretAskedAgain(s); ok {
		never := ". The " + strings.ToLower(secret.Label) + " is never saved: "
		if s.Step > flows.StepPaste {
			detail += never + "the paste step asks for it again first."
		} else {
			detail += never + "you paste it again."
		}
	}
	return title, detail
}

func (r *resumeStep) View() string {
	if r.ask != nil {
		return r.askView()
	}
	st := r.c.Styles
	var b strings.Builder
	b.WriteString(st.Heading.Render("Pick up where you left off?") + "\n")
	if len(r.snaps) == 1 {
		s := r.snaps[0]
		what := s.Domain
		if p, err := flows.ParseProvider(s.Values[flows.FieldProvider]); err == nil {
			what += " (" + p.Title() + ")"
		}
		b.WriteString(r.c.wrap(fmt.Sprintf("You were setting up %s and reached %s, %s.", what, s.Step.Title(), ago(r.c.Deps.Now().Sub(s.Saved))), st.Text) + "\n")
	} else {
		b.WriteString(r.c.wrap(fmt.Sprintf("%d domains were left part-way:", len(r.snaps)), st.Text) + "\n")
	}
	for i := range len(r.snaps) + 1 {
		title, detail := "Start over", "a new domain, or one of these from the beginning"
		if i < len(r.snaps) {
			title, detail = r.describe(r.snaps[i])
		} else if len(r.snaps) == 1 {
			detail = "from the beginning"
		}
		cursor, style := "  ", st.Text
		if i == r.cursor {
			cursor, style = "› ", st.Selected
		}
		b.WriteString("\n" + style.Render(cursor+truncate(title, r.c.Width-2)) + "\n" + r.c.wrapIndented(detail, 4, st.Muted))
	}
	return b.String()
}

// anchor keeps the chosen item in view.
func (r *resumeStep) anchor() int {
	if r.ask != nil {
		return -1
	}
	v := r.View()
	marker := "› "
	for i, l := range strings.Split(v, "\n") {
		if strings.Contains(l, marker) {
			// and its detail, up to two lines
			return min(i+2, strings.Count(v, "\n"))
		}
	}
	return -1
}

func (r *resumeStep) Bindings() help.KeyMap {
	k := r.keys
	if r.ask != nil {
		return bindings{short: []key.Binding{k.Discard, k.Resume, k.Keep, k.Quit}}
	}
	return bindings{short: []key.Binding{k.Choose, k.Go, k.Quit}, more: []key.Binding{k.Up, k.Down}}
}

func (r *resumeStep) askView() string {
	st, d := r.c.Styles, r.ask
	var b strings.Builder
	b.WriteString(st.Heading.Render("Start "+d.snap.Domain+" over?") + "\n\n")
	b.WriteString(r.c.wrap(fmt.Sprintf("Progress for %s was saved %s, at %s. Starting over discards it.", d.snap.Domain, ago(r.c.Deps.Now().Sub(d.snap.Saved)), d.snap.Step.Title()), st.Text) + "\n\n")
	b.WriteString(st.Label.Render("y") + st.Text.Render(": discard it and start over") + "\n")
	b.WriteString(st.Label.Render("r") + st.Text.Render(": resume it at "+d.snap.Step.Title()) + "\n")
	b.WriteString(st.Label.Render("n/esc") + st.Text.Render(": back"))
	return b.String()
}

// ago says how long ago, as a person would.
func ago(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return "a moment ago"
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
