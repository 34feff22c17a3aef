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

// Progress keeps a flow's progress per domain, so a wizard left part-way
// (a cloud shell that timed out) can resume. Secrets are never given to
// it.
type Progress interface {
	Save(flows.Snapshot) error
	Delete(domain string) error
}

// resumeOffer is the screen before the first step when progress was
// saved: every unfinished domain, to resume at the step it reached, or
// start over.
type resumeOffer struct {
	c      *Common
	snaps  []flows.Snapshot // newest first
	cursor int              // an index of snaps; len(snaps) is "start over"
	now    func() time.Time
}

// resumeChoiceMsg is the choice: a snapshot to resume, or nil to start
// over.
type resumeChoiceMsg struct{ snap *flows.Snapshot }

func (r *resumeOffer) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, r.c.Keys.Up):
		r.cursor = max(r.cursor-1, 0)
	case key.Matches(k, r.c.Keys.Down):
		r.cursor = min(r.cursor+1, len(r.snaps))
	case key.Matches(k, r.c.Keys.Next):
		if r.cursor < len(r.snaps) {
			snap := r.snaps[r.cursor]
			return send(resumeChoiceMsg{snap: &snap})
		}
		return send(resumeChoiceMsg{})
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
func (r *resumeOffer) describe(s flows.Snapshot) (string, string) {
	title := s.Domain + ": resume at " + s.Step.Title()
	var about []string
	if p, err := flows.ParseProvider(s.Values[flows.FieldProvider]); err == nil {
		about = append(about, p.Title())
	}
	about = append(about, "saved "+ago(r.now().Sub(s.Saved)))
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

func (r *resumeOffer) View() string {
	st := r.c.Styles
	var b strings.Builder
	b.WriteString(st.Heading.Render("Pick up where you left off?") + "\n")
	if len(r.snaps) == 1 {
		s := r.snaps[0]
		what := s.Domain
		if p, err := flows.ParseProvider(s.Values[flows.FieldProvider]); err == nil {
			what += " (" + p.Title() + ")"
		}
		b.WriteString(r.c.wrap(fmt.Sprintf("You were setting up %s and reached %s, %s.", what, s.Step.Title(), ago(r.now().Sub(s.Saved))), st.Text) + "\n")
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
func (r *resumeOffer) anchor() int {
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

func (r *resumeOffer) Bindings() help.KeyMap {
	k := r.c.Keys
	return bindings{short: []key.Binding{k.Up, key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "go")), k.Quit}}
}

// discardAsk asks before starting over on a domain whose progress was
// saved: going on replaces that progress.
type discardAsk struct {
	snap   flows.Snapshot
	submit *submitMsg // the domain step's answer waiting on the question; nil from the offer
}

var resumeKey = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "resume it"))

func (m *Model) discardView() string {
	st, d := m.c.Styles, m.discard
	var b strings.Builder
	b.WriteString(st.Heading.Render("Start "+d.snap.Domain+" over?") + "\n\n")
	b.WriteString(m.c.wrap(fmt.Sprintf("Progress for %s was saved %s, at %s. Starting over discards it.", d.snap.Domain, ago(m.c.Deps.Now().Sub(d.snap.Saved)), d.snap.Step.Title()), st.Text) + "\n\n")
	b.WriteString(st.Label.Render("y") + st.Text.Render(": discard it and start over") + "\n")
	b.WriteString(st.Label.Render("r") + st.Text.Render(": resume it at "+d.snap.Step.Title()) + "\n")
	b.WriteString(st.Label.Render("n/esc") + st.Text.Render(": back"))
	return b.String()
}

func (m *Model) discardBindings() []key.Binding {
	return []key.Binding{m.c.Keys.Yes, resumeKey, m.c.Keys.No, m.c.Keys.Quit}
}

// discardKey answers the question.
func (m *Model) discardKey(k tea.KeyPressMsg) tea.Cmd {
	d := m.discard
	switch {
	case key.Matches(k, m.c.Keys.Yes):
		m.discard = nil
		m.dropSaved(d.snap.Domain)
		if d.submit != nil {
			return m.submit(*d.submit)
		}
		m.offer = nil
		return tea.Batch(m.enter(), m.deleteProgress(d.snap.Domain))
	case key.Matches(k, resumeKey):
		// The flow is at its first step still (the offer, or the domain
		// step): it can take saved progress.
		m.discard, m.offer = nil, nil
		m.dropSaved(d.snap.Domain)
		_, _ = m.flow.Resume(d.snap)
		return m.enter()
	case key.Matches(k, m.c.Keys.No):
		m.discard = nil
	}
	return nil
}

// savedFor is the saved progress of a domain not yet discarded.
func (m *Model) savedFor(domain string) (flows.Snapshot, bool) {
	for _, s := range m.c.Deps.Saved {
		if s.Domain == strings.TrimSpace(domain) {
			return s, true
		}
	}
	return flows.Snapshot{}, false
}

func (m *Model) dropSaved(domain string) {
	var keep []flows.Snapshot
	for _, s := range m.c.Deps.Saved {
		if s.Domain != domain {
			keep = append(keep, s)
		}
	}
	m.c.Deps.Saved = keep
}

// deleteProgress drops a domain's saved progress the customer chose to
// discard.
func (m *Model) deleteProgress(domain string) tea.Cmd {
	p := m.c.Deps.Progress
	if p == nil {
		return nil
	}
	return func() tea.Msg { _ = p.Delete(domain); return nil }
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
