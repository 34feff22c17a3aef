package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/scripts"
)

// scriptMode is what the script step is doing.
type scriptMode int

const (
	scriptViewing    scriptMode = iota
	scriptNaming                // asking where to save
	scriptOverwrite             // asking whether to replace an existing file
	scriptConfirmRun            // asking before "set it up for me"
	scriptRunning
	scriptRan
)

// scriptStep shows the setup script and offers to copy it, save it, or
// do the same work through the SDK.
type scriptStep struct {
	c    *Common
	keys scriptKeys

	spec   flows.SetupSpec
	script string
	err    error // the script could not be rendered
	mode   scriptMode
	status string // one line: what the last action did

	view viewport.Model
	name textinput.Model
	// planner reads "set it up for me"'s plan; job runs the set-up.
	planner job[none, planResult]
	job     job[flows.SetupEvent, setupResult]
	events  []flows.SetupEvent
	result  *flows.SetupResult
	runErr  error
	// consent is "set it up for me"'s plan and questions (step_script_plan.go).
	consent consent
}

func newScriptStep(c *Common) *scriptStep {
	keys := newScriptKeys(c.Keys)
	vp := viewport.New()
	vp.SoftWrap = true
	vp.KeyMap = keys.Scroll.viewport()
	// A script line too long for the screen continues on the next, marked
	// so it does not read as a line of its own.
	vp.LeftGutterFunc = func(g viewport.GutterContext) string {
		if g.Soft {
			return "↪ "
		}
		return "  "
	}
	name := textinput.New()
	name.Prompt = "save as › "
	name.KeyMap.Paste = key.NewBinding(key.WithDisabled())
	name.SetStyles(inputStyles(true))
	return &scriptStep{c: c, keys: keys, view: vp, name: name, planner: newJob[none, planResult](c), job: newJob[flows.SetupEvent, setupResult](c)}
}

func (s *scriptStep) Enter(st *flows.State) tea.Cmd {
	s.mode, s.status, s.err = scriptViewing, "", nil
	spec, err := st.SetupSpec()
	if err == nil {
		if spec != s.spec || s.script == "" {
			s.events, s.result, s.runErr = nil, nil, nil
		}
		s.spec = spec
		s.script, err = s.c.Deps.RenderScript(spec)
	}
	s.err = err
	// The script's last newline ends its last line; it starts none.
	s.view.SetContent(strings.TrimSuffix(s.script, "\n"))
	s.view.GotoTop()
	if s.result != nil {
		s.mode = scriptRan
	}
	s.SetSize(s.c.Width, s.c.Height)
	return nil
}

func (s *scriptStep) Leave() {
	s.planner.stop()
	if s.job.running() {
		s.job.stop()
		s.runErr = context.Canceled
	}
}

func (s *scriptStep) SetSize(w, _ int) {
	s.view.SetWidth(w)
	s.name.SetWidth(max(w-12, 10))
	s.layout()
}

func (s *scriptStep) canRun() bool { return s.c.Deps.Setup[s.spec.Provider] != nil }

func (s *scriptStep) Update(msg tea.Msg) (component, tea.Cmd) {
	cmd := s.update(msg)
	s.layout() // the status may have changed
	return s, cmd
}

func (s *scriptStep) update(msg tea.Msg) tea.Cmd {
	if cmd, ok := s.planner.update(msg, nil, s.planDone); ok {
		return cmd
	}
	if cmd, ok := s.job.update(msg, s.event, s.setupDone); ok || stale(msg) {
		return cmd // a message of work that was stopped is dropped
	}
	switch msg := msg.(type) {
	case savedMsg:
		return s.saved(msg)
	case tea.KeyPressMsg:
		return s.key(msg)
	}
	if s.mode == scriptNaming {
		var cmd tea.Cmd
		s.name, cmd = s.name.Update(msg)
		return cmd
	}
	return nil
}

func (s *scriptStep) key(msg tea.KeyPressMsg) tea.Cmd {
	switch s.mode {
	case scriptNaming, scriptOverwrite:
		return s.saveKey(msg)
	case scriptConfirmRun:
		return s.confirmKey(msg)
	case scriptRunning, scriptRan:
		return s.setupKey(msg)
	}
	k := s.keys
	switch {
	case key.Matches(msg, k.Back):
		return send(backMsg{})
	case s.err != nil:
		return nil
	case key.Matches(msg, k.Next):
		return send(submitMsg{})
	case key.Matches(msg, k.Copy):
		// The script's own lines: the viewport counts rows, which wrap.
		lines := strings.Count(strings.TrimSuffix(s.script, "\n"), "\n") + 1
		s.status = fmt.Sprintf("Copied %d lines to the clipboard through your terminal (OSC 52). Nothing there? Press s to save it to a file instead.", lines)
		return tea.SetClipboard(s.script)
	case key.Matches(msg, k.Save):
		return s.startSave()
	case key.Matches(msg, k.Run) && s.canRun():
		return s.startPlan()
	}
	var cmd tea.Cmd
	s.view, cmd = s.view.Update(msg)
	return cmd
}

func (s *scriptStep) View() string {
	st := s.c.Styles
	if s.err != nil {
		msg := s.err.Error()
		if errors.Is(s.err, scripts.ErrNotBuilt) {
			msg = "The script for " + s.spec.Provider.Title() + " is not built yet in this version of rekwiz."
		}
		return st.Heading.Render("Script") + "\n\n" + s.c.wrapIndented("✗ "+msg, 0, st.Error)
	}
	switch s.mode {
	case scriptConfirmRun:
		return s.confirmView()
	case scriptRunning, scriptRan:
		return s.runView()
	}
	heading, where, status := s.frame()
	return heading + "\n" + where() + "\n" + s.view.View() + "\n" + status
}

// frame is what the script is shown with: the heading above, the line
// that says where the script works and which of its lines are shown, and
// the status under it.
func (s *scriptStep) frame() (heading string, where func() string, status string) {
	st := s.c.Styles
	// The status goes under the script; the script gets what is left.
	switch s.mode {
	case scriptNaming:
		status = s.name.View()
		if s.status != "" {
			status += "\n" + s.c.wrapIndented(s.status, 0, st.Error)
		}
	case scriptOverwrite:
		status = s.c.wrapIndented(s.status+" (y/n)", 0, st.Note)
	default:
		if s.status != "" {
			style := st.OK
			if strings.HasPrefix(s.status, "✗") {
				style = st.Error
			}
			status = s.c.wrapIndented(s.status, 0, style)
		} else {
			status = s.c.wrap(s.nextHint(), st.Muted)
		}
	}
	cli, shell := s.spec.Provider.Cloud().CLI(), s.spec.Provider.Cloud().Shell()
	// Wrapped, not cut: at 50 columns a cut title lost "signed in".
	heading = s.c.wrap("Run this script where the "+cli+" is signed in", st.Heading)
	where = func() string {
		first := s.view.YOffset() + 1
		last := min(s.view.YOffset()+s.view.Height(), s.view.TotalLineCount())
		return s.c.wrap(fmt.Sprintf("%s works. Lines %d–%d of %d; ↑/↓ scroll.", shell, first, last, s.view.TotalLineCount()), st.Muted)
	}
	return heading, where, status
}

// layout gives the script the lines the heading, the line count and the
// status leave. The line count needs the viewport's height, which needs
// the count's: its wording is the same length whatever it says.
func (s *scriptStep) layout() {
	if s.err != nil {
		return
	}
	heading, where, status := s.frame()
	s.view.SetHeight(max(min(s.c.Height-lipgloss.Height(heading)-lipgloss.Height(where())-lipgloss.Height(status), s.view.TotalLineCount()), 1))
}

// nextHint says what to do with the script. In the demo there is no
// shell signed in to the sandbox's account, so the way on is r.
func (s *scriptStep) nextHint() string {
	if s.c.Deps.Demo && s.canRun() {
		return "This is the demo: press r and rekwiz makes the script's calls against the sandbox."
	}
	return "Ran it? Press enter to paste what it printed."
}

func (s *scriptStep) Bindings() help.KeyMap {
	k := s.keys
	switch {
	case s.err != nil:
		return bindings{short: []key.Binding{k.Back, k.Quit}}
	case s.mode == scriptNaming:
		return bindings{short: []key.Binding{k.SaveAs, k.Cancel, k.Quit}, more: editKeys()}
	case s.mode == scriptConfirmRun:
		if !s.canConsent() {
			// Planning, or the plan failed, or it cannot be done here:
			// there is nothing to say yes to.
			return bindings{short: []key.Binding{k.NoBack, k.Quit}}
		}
		return bindings{short: []key.Binding{k.Yes, k.No, k.Quit}}
	case s.mode == scriptOverwrite:
		return bindings{short: []key.Binding{k.Replace, k.Keep, k.Quit}}
	case s.mode == scriptRunning:
		return bindings{short: []key.Binding{k.Stop, k.Quit}}
	case s.mode == scriptRan:
		return bindings{short: []key.Binding{k.Next, k.Back, k.Quit}, inStep: true}
	}
	short := []key.Binding{k.Next, k.Copy, k.Save}
	if s.canRun() {
		short = append(short, k.Run)
	}
	var more []key.Binding
	if !s.view.AtTop() || !s.view.AtBottom() {
		more = k.Scroll.all() // the script is taller than its room
	}
	return bindings{short: append(short, k.Back, k.Quit), more: more}
}

// anchor keeps the set-up's last line in view: the call under way, then
// "Press enter to continue". Asking before "set it up for me", the top of
// the plan or the conflict it found (confirmAnchor).
func (s *scriptStep) anchor() int {
	switch {
	case s.err != nil:
		return -1
	case s.mode == scriptConfirmRun:
		return s.confirmAnchor()
	case s.mode == scriptRunning || s.mode == scriptRan:
		return strings.Count(s.runView(), "\n")
	}
	return -1
}

// arrowsScroll: the set-up's plan, calls and result scroll with ↑/↓.
func (s *scriptStep) arrowsScroll() bool {
	return s.err == nil && (s.mode == scriptConfirmRun || s.mode == scriptRunning || s.mode == scriptRan)
}
