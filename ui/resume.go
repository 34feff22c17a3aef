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
// saved: resume at the step reached, or start over.
type resumeOffer struct {
	c      *Common
	snap   flows.Snapshot
	cursor int // 0 resume, 1 start over
	now    func() time.Time
}

type resumeChoiceMsg struct{ resume bool }

func (r *resumeOffer) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, r.c.Keys.Up):
		r.cursor = 0
	case key.Matches(k, r.c.Keys.Down):
		r.cursor = 1
	case key.Matches(k, r.c.Keys.Next):
		return send(resumeChoiceMsg{resume: r.cursor == 0})
	}
	return nil
}

func (r *resumeOffer) View() string {
	st := r.c.Styles
	var b strings.Builder
	b.WriteString(st.Heading.Render("Pick up where you left off?") + "\n\n")
	what := r.snap.Domain
	if p, err := flows.ParseProvider(r.snap.Values[flows.FieldProvider]); err == nil {
		what += " (" + p.Title() + ")"
	}
	b.WriteString(r.c.wrap(fmt.Sprintf("You were setting up %s and reached %s, %s.", what, r.snap.Step.Title(), ago(r.now().Sub(r.snap.Saved))), st.Text) + "\n\n")
	items := []string{"Resume at " + r.snap.Step.Title(), "Start over"}
	for i, it := range items {
		cursor := "  "
		style := st.Text
		if i == r.cursor {
			cursor, style = "› ", st.Selected
		}
		b.WriteString(style.Render(cursor+it) + "\n")
	}
	b.WriteString("\n" + r.c.wrap("Secrets (a secret access key) are never saved: you paste them again.", st.Muted))
	return b.String()
}

func (r *resumeOffer) Bindings() help.KeyMap {
	k := r.c.Keys
	return bindings{short: []key.Binding{k.Up, key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "go")), k.Quit}}
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
