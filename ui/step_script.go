package ui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
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
	c *Common

	spec   flows.SetupSpec
	script string
	err    error // the script could not be rendered
	mode   scriptMode
	status string // one line: what the last action did

	view   viewport.Model
	name   textinput.Model
	job    job
	events []flows.SetupEvent
	result *flows.SetupResult
	runErr error
	// consent is "set it up for me"'s plan and questions (step_script_plan.go).
	consent consent
}

// Messages of the script step's work.
type (
	savedMsg struct {
		path   string
		exists bool // not written: the file is there and may not be replaced
		err    error
	}
	setupEventMsg struct{ ev flows.SetupEvent }
	setupDoneMsg  struct {
		res flows.SetupResult
		err error
	}
)

func newScriptStep(c *Common) *scriptStep {
	vp := viewport.New()
	vp.SoftWrap = true
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
	return &scriptStep{c: c, view: vp, name: name, job: newJob(c)}
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
	if s.job.running() {
		s.job.stop()
		s.runErr = context.Canceled
	}
}

func (s *scriptStep) SetSize(w, _ int) {
	s.view.SetWidth(w)
	s.name.SetWidth(max(w-12, 10))
}

func (s *scriptStep) canRun() bool { return s.c.Deps.Setup[s.spec.Provider] != nil }

func (s *scriptStep) Update(msg tea.Msg) (component, tea.Cmd) {
	switch msg := msg.(type) {
	case savedMsg:
		return s, s.saved(msg)
	case streamMsg:
		if !s.job.owns(msg) {
			return s, nil // from a run that was stopped
		}
		switch m := msg.msg.(type) {
		case planDoneMsg:
			s.planDone(m)
			return s, nil
		case setupEventMsg:
			s.events = append(s.events, m.ev)
		case setupDoneMsg:
			s.job.stop()
			s.mode, s.runErr = scriptRan, m.err
			if m.err == nil {
				s.result = &m.res
				return s, send(prefillMsg{values: m.res.Paste})
			}
			return s, nil
		}
		return s, listen(msg.ch)
	case spinner.TickMsg:
		return s, s.job.tick(msg)
	case tea.KeyPressMsg:
		return s, s.key(msg)
	}
	if s.mode == scriptNaming {
		var cmd tea.Cmd
		s.name, cmd = s.name.Update(msg)
		return s, cmd
	}
	return s, nil
}

func (s *scriptStep) key(msg tea.KeyPressMsg) tea.Cmd {
	k := s.c.Keys
	switch s.mode {
	case scriptNaming:
		switch {
		case key.Matches(msg, k.Back):
			s.mode = scriptViewing
			return nil
		case key.Matches(msg, k.Next):
			return s.save(false)
		}
		var cmd tea.Cmd
		s.name, cmd = s.name.Update(msg)
		return cmd
	case scriptOverwrite:
		switch {
		case key.Matches(msg, k.Yes):
			return s.save(true)
		case key.Matches(msg, k.No):
			s.mode = scriptNaming
			s.status = ""
		}
		return nil
	case scriptConfirmRun:
		return s.confirmKey(msg)
	case scriptRunning:
		if key.Matches(msg, k.Back) {
			s.Leave()
			s.mode = scriptViewing
			s.status = "Stopped. Calls already made are kept; running again picks up from there."
		}
		return nil
	case scriptRan:
		switch {
		case key.Matches(msg, k.Back):
			s.mode = scriptViewing
			return nil
		case key.Matches(msg, k.Next) && s.result != nil:
			// The values go with the answer as well as before it: the
			// prefill may still be on its way.
			return send(submitMsg{values: s.result.Paste})
		}
		return nil
	}

	switch {
	case key.Matches(msg, k.Back):
		return send(backMsg{})
	case s.err != nil:
		return nil
	case key.Matches(msg, k.Next):
		return send(submitMsg{})
	case key.Matches(msg, k.Copy):
		s.status = fmt.Sprintf("Copied %d lines to the clipboard through your terminal (OSC 52). Nothing there? Press s to save it to a file instead.", s.view.TotalLineCount())
		return tea.SetClipboard(s.script)
	case key.Matches(msg, k.Save):
		s.mode = scriptNaming
		s.status = ""
		s.name.SetValue(scripts.FileName(s.spec, scripts.Options{}))
		s.name.CursorEnd()
		return s.name.Focus()
	case key.Matches(msg, k.Run) && s.canRun():
		return s.startPlan()
	}
	var cmd tea.Cmd
	s.view, cmd = s.view.Update(msg)
	return cmd
}

// save writes the script. Without overwrite it never replaces a file:
// the file is created exclusively, and an existing one means asking.
func (s *scriptStep) save(overwrite bool) tea.Cmd {
	path := strings.TrimSpace(s.name.Value())
	if path == "" {
		s.status = "✗ give a file name"
		return nil
	}
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(s.c.Deps.SaveDir, path)
	}
	content := s.script
	return func() tea.Msg { return writeScript(path, content, overwrite) }
}

func writeScript(path, content string, overwrite bool) savedMsg {
	if !overwrite {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
		if errors.Is(err, fs.ErrExist) {
			return savedMsg{path: path, exists: true}
		}
		if err != nil {
			return savedMsg{path: path, err: err}
		}
		_, err = f.WriteString(content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
		return savedMsg{path: path, err: err}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rekwiz-script-*")
	if err != nil {
		return savedMsg{path: path, err: err}
	}
	_, err = tmp.WriteString(content)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o700)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return savedMsg{path: path, err: err}
}

func (s *scriptStep) saved(m savedMsg) tea.Cmd {
	switch {
	case m.exists:
		s.mode = scriptOverwrite
		s.status = m.path + " exists. Replace it?"
	case m.err != nil:
		s.mode = scriptNaming
		s.status = "✗ could not save: " + m.err.Error()
	default:
		s.mode = scriptViewing
		shown := m.path
		if rel, err := filepath.Rel(s.c.Deps.SaveDir, m.path); err == nil && !strings.HasPrefix(rel, "..") {
			shown = rel
		}
		s.status = "✓ Saved to " + shown + ". Run it with: bash " + shown
	}
	return nil
}

// run does what the script does, through the SDK, streaming each call.
func (s *scriptStep) run() tea.Cmd {
	setup, spec := s.runSetup(), s.spec
	s.mode, s.events, s.result, s.runErr, s.status = scriptRunning, nil, nil, nil, ""
	return s.job.start(func(ctx context.Context, send func(tea.Msg)) {
		res, err := setup(ctx, spec, func(ev flows.SetupEvent) { send(setupEventMsg{ev}) })
		send(setupDoneMsg{res: res, err: err})
	})
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
	// The status goes under the script; the script gets what is left.
	var status string
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
	var b strings.Builder
	cli, shell := s.spec.Provider.Cloud().CLI(), s.spec.Provider.Cloud().Shell()
	heading := st.Heading.Render(truncate("Run this script where the "+cli+" is signed in", s.c.Width))
	// The line count needs the viewport's height, which needs the
	// heading's: the count's wording is the same length whatever it says.
	where := func() string {
		first := s.view.YOffset() + 1
		last := min(s.view.YOffset()+s.view.Height(), s.view.TotalLineCount())
		return s.c.wrap(fmt.Sprintf("%s works. Lines %d–%d of %d; ↑/↓ scroll.", shell, first, last, s.view.TotalLineCount()), st.Muted)
	}
	s.view.SetHeight(max(min(s.c.Height-lipgloss.Height(heading)-lipgloss.Height(where())-lipgloss.Height(status), s.view.TotalLineCount()), 1))
	b.WriteString(heading + "\n" + where() + "\n")
	b.WriteString(s.view.View() + "\n" + status)
	return b.String()
}

// nextHint says what to do with the script. In the demo there is no
// shell signed in to the sandbox's account, so the way on is r.
func (s *scriptStep) nextHint() string {
	if s.c.Deps.Demo && s.canRun() {
		return "This is the demo: press r and rekwiz makes the script's calls against the sandbox."
	}
	return "Ran it? Press enter to paste what it printed."
}

func (s *scriptStep) runView() string {
	st := s.c.Styles
	var b strings.Builder
	b.WriteString(st.Heading.Render("Setting it up") + "\n\n")
	for _, ev := range s.events {
		if ev.Err != nil {
			b.WriteString(s.c.wrapIndented("✗ "+ev.Call+": "+ev.Err.Error(), 0, st.Error) + "\n")
			continue
		}
		b.WriteString(st.OK.Render("✓ ") + st.Label.Render(ev.Call) + "\n" + s.c.wrapIndented(ev.Detail, 2, st.Muted) + "\n")
	}
	switch {
	case s.job.running():
		b.WriteString(s.job.spin.View() + " " + st.Muted.Render("working… (esc stops)"))
	case s.result != nil:
		b.WriteString("\n" + st.OK.Render("✓ Done.") + " " + st.Text.Render("The next step is filled in with:") + "\n")
		for _, f := range flows.PasteFields(s.spec.Provider) {
			v, ok := s.result.Paste[f]
			if !ok {
				continue
			}
			if flows.Spec(f).Kind == flows.SecretField {
				v = flows.Secret(v).Masked()
			}
			b.WriteString(s.c.wrapIndented(flows.Spec(f).Label+": "+v, 2, st.Value) + "\n")
		}
		b.WriteString(st.Muted.Render("Press enter to continue."))
	case s.runErr != nil:
		b.WriteString("\n" + s.c.wrapIndented("✗ Stopped: "+s.runErr.Error(), 0, st.Error) + "\n")
		b.WriteString(st.Muted.Render("esc: back to the script"))
	}
	return b.String()
}

func (s *scriptStep) Bindings() help.KeyMap {
	k := s.c.Keys
	switch s.mode {
	case scriptNaming:
		return bindings{short: []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save")), key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")), k.Quit}}
	case scriptConfirmRun:
		if !s.canConsent() {
			// Planning, or the plan failed, or it cannot be done here:
			// there is nothing to say yes to.
			back := key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "back"))
			return bindings{short: []key.Binding{back, k.Quit}}
		}
		return bindings{short: []key.Binding{k.Yes, k.No, k.Quit}}
	case scriptOverwrite:
		return bindings{short: []key.Binding{k.Yes, k.No, k.Quit}}
	case scriptRunning:
		return bindings{short: []key.Binding{key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "stop")), k.Quit}}
	case scriptRan:
		return bindings{short: []key.Binding{k.Next, k.Back, k.Quit}}
	}
	short := []key.Binding{k.Next, k.Copy, k.Save}
	if s.canRun() {
		short = append(short, k.Run)
	}
	return bindings{short: append(short, k.Back, k.Quit)}
}

// anchor keeps the set-up's last line in view: the call under way, then
// "Press enter to continue".
// Asking before "set it up for me", the question stays in view.
func (s *scriptStep) anchor() int {
	switch {
	case s.err != nil:
		return -1
	case s.mode == scriptConfirmRun:
		return strings.Count(s.confirmView(), "\n")
	case s.mode == scriptRunning || s.mode == scriptRan:
		return strings.Count(s.runView(), "\n")
	}
	return -1
}

// arrowsScroll: the set-up's plan, calls and result scroll with ↑/↓.
func (s *scriptStep) arrowsScroll() bool {
	return s.err == nil && (s.mode == scriptConfirmRun || s.mode == scriptRunning || s.mode == scriptRan)
}
