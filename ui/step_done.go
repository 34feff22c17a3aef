package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// doneStep sums up what was configured and what to run later.
type doneStep struct {
	c       *Common
	keys    doneKeys
	summary Summary
	copied  bool
}

// Summary is what the wizard configured, for its last screen and for the
// lines printed after it closes.
type Summary struct {
	Domain   string
	Provider flows.Provider
	Vendor   string
	Key      string // the alias ARN or key URL
	Receipt  flows.Receipt
	Passed   int
	Warned   int
	Skipped  int
	Verify   string // the command that checks again later; "" if none
}

// Fact is one labelled line of the summary.
type Fact struct{ Label, Value string }

// Facts is the summary, one fact a line.
func (s Summary) Facts() []Fact {
	facts := []Fact{
		{"Domain", s.Domain},
		{"Provider", s.Provider.Title()},
		{"Key", s.Key},
		{"Registered", s.Receipt.RekID},
		{"Registry", strings.TrimPrefix(s.Receipt.Where, "local registry ")},
	}
	if s.Receipt.Test != "" {
		facts = append(facts, Fact{"Vendor test", s.Receipt.Test})
	}
	return append(facts, Fact{"Checks", s.checkCounts()})
}

// Lines is the summary as plain text, labels aligned.
func (s Summary) Lines() []string {
	var out []string
	for _, f := range s.Facts() {
		out = append(out, fmt.Sprintf("%-11s %s", f.Label, f.Value))
	}
	return out
}

func (s Summary) checkCounts() string {
	out := fmt.Sprintf("%d passed", s.Passed)
	if s.Warned > 0 {
		out += ", " + count(s.Warned, "warning")
	}
	if s.Skipped > 0 {
		out += fmt.Sprintf(", %d skipped", s.Skipped)
	}
	return out
}

func newDoneStep(c *Common) *doneStep { return &doneStep{c: c, keys: newDoneKeys(c.Keys)} }

func (d *doneStep) Enter(st *flows.State) tea.Cmd {
	d.summary, d.copied = Summarize(st, d.c.Deps), false
	return nil
}

// Summarize is what a finished flow configured, as the Done screen shows
// it (the line-by-line wizard prints the same).
func Summarize(st *flows.State, deps Deps) Summary {
	t, _ := st.Target()
	s := Summary{Domain: t.Domain, Provider: t.Provider, Vendor: t.Vendor.Name}
	s.Key = t.Key()
	if r := st.Receipt(); r != nil {
		s.Receipt = *r
	}
	for _, c := range st.Checks() {
		switch c.Status {
		case flows.StatusPass:
			s.Passed++
		case flows.StatusWarn:
			s.Warned++
		case flows.StatusSkipped:
			s.Skipped++
		}
	}
	if deps.VerifyCommand != nil {
		s.Verify = deps.VerifyCommand(t)
	}
	return s
}

func (d *doneStep) Leave()           {}
func (d *doneStep) SetSize(int, int) {}

func (d *doneStep) Update(msg tea.Msg) (component, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, d.keys.Done):
			return d, send(finishMsg{})
		case key.Matches(k, d.keys.Back):
			return d, send(backMsg{})
		case key.Matches(k, d.keys.Copy) && d.summary.Verify != "":
			d.copied = true
			return d, tea.SetClipboard(d.summary.Verify)
		}
	}
	return d, nil
}

func (d *doneStep) View() string {
	st := d.c.Styles
	s := d.summary
	var b strings.Builder
	b.WriteString(st.OK.Render("✓ Paired.") + " " + st.Heading.Render(s.Vendor+" can use your key, and only for wrapping keys.") + "\n\n")
	for _, f := range s.Facts() {
		b.WriteString(d.c.fieldLine(fmt.Sprintf("%-11s", f.Label), f.Value) + "\n")
	}
	if s.Verify != "" {
		later := "To check it again later, or on a support call:"
		if d.c.Deps.Demo {
			later = "In a real account, you would check it again later with:"
		}
		b.WriteString("\n" + d.c.wrap(later, st.Text) + "\n")
		b.WriteString(d.c.command(s.Verify, "c copies it whole, and rekwiz prints it whole when it ends") + "\n")
		if d.copied {
			b.WriteString(d.c.wrap("✓ Copied the command through your terminal (OSC 52).", st.OK) + "\n")
		}
	}
	b.WriteString("\n" + st.Muted.Render("Press enter to finish."))
	return b.String()
}

func (d *doneStep) Bindings() help.KeyMap {
	k := d.keys
	if d.summary.Verify != "" {
		return bindings{short: []key.Binding{k.Done, k.Copy, k.Back}}
	}
	return bindings{short: []key.Binding{k.Done, k.Back}}
}

// arrowsScroll: the summary scrolls with ↑/↓ when it is taller than the
// screen.
func (d *doneStep) arrowsScroll() bool { return true }

// anchor keeps "Press enter to finish." in view once c was pressed: the
// note that the command was copied must not push the step's next action
// off the screen.
func (d *doneStep) anchor() int {
	if !d.copied {
		return -1
	}
	return strings.Count(strings.TrimRight(d.View(), "\n"), "\n")
}
