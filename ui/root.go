package ui

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// The smallest terminal the wizard draws in; below it, it says so.
const (
	MinWidth  = 50
	MinHeight = 16
)

// frame is what the root draws around a step: two header lines and a
// rule above, a rule and the help line below, one column of padding.
const (
	headerLines = 3
	footerLines = 2
	padX        = 1
)

// Model is the wizard: it owns the flow, routes each message to the
// current step, and moves the flow when a step reports an answer.
type Model struct {
	c      *Common
	flow   *flows.State
	steps  map[flows.Step]component
	active flows.Step
	help   help.Model

	width, height int
	finished      bool
	// The body scrolls when a step's view is taller than it: scroll is
	// the first line shown, anchor the line last kept in view, and
	// anchored the view it was kept in view of: a new view (a mode of
	// the step, a call reported) brings its anchor into view again; the
	// same view leaves the customer's scrolling alone.
	scroll, anchor int
	anchored       string
	overflow       bool
	enterCmd       tea.Cmd      // the first step's work, started by Init
	offer          *resumeOffer // saved progress to offer first, until chosen
	discard        *discardAsk  // asking before saved progress is started over

	progress *progressLog

	// What has happened, for the line printed on quitting.
	sawScript bool // the script step was shown
	setUp     bool // "set it up for me" finished
}

// New makes the wizard for a flow.
func New(flow *flows.State, deps Deps) *Model {
	c := &Common{Styles: newStyles(true), Keys: newKeyMap(), Deps: deps, Width: 80 - 2*padX, Height: 24 - headerLines - footerLines}
	m := &Model{c: c, flow: flow, help: help.New(), width: 80, height: 24, progress: &progressLog{dropped: map[string]bool{}}}
	m.steps = map[flows.Step]component{
		flows.StepDomain: newFormStep(c, "Which domain is the key for?", domainIntro),
		flows.StepProvider: newChoiceStep(c, flows.FieldProvider,
			"Where will the key live?", providerItems),
		flows.StepKey:        newChoiceStep(c, flows.FieldKey, "Which key?", keyItems),
		flows.StepKeyDetails: newFormStep(c, "About the key", keyDetailsIntro),
		flows.StepScript:     newScriptStep(c),
		flows.StepPaste:      newFormStep(c, "Paste what the script printed", func(s *flows.State) string { return pasteIntro(c, s) }),
		flows.StepApply:      newApplyStep(c),
		flows.StepCheck:      newCheckStep(c),
		flows.StepDone:       newDoneStep(c),
	}
	m.help.Styles = c.Styles.Help
	if c.Deps.Now == nil {
		c.Deps.Now = time.Now
	}
	if len(deps.Saved) > 0 {
		m.offer = &resumeOffer{c: c, snaps: deps.Saved, now: c.Deps.Now}
		m.active = flow.Step()
		return m
	}
	m.enterCmd = m.enter() // the first screen exists before Init
	return m
}

// progressLog orders the background writes of progress: one at a time,
// and none after the finished flow's progress was dropped (a save still
// on its way when the customer finishes must not bring it back).
type progressLog struct {
	mu      sync.Mutex
	dropped map[string]bool
	pending sync.WaitGroup // writes asked for and not done: quitting waits for them
}

// flush waits for the writes under way, so that quitting never loses the
// last step's progress.
// A write that hangs (a stuck network home directory) holds quitting two
// seconds at most.
func (l *progressLog) flush() tea.Msg {
	done := make(chan struct{})
	go func() { l.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	return nil
}

// save keeps the flow's progress, in the background.
func (m *Model) save() tea.Cmd {
	p, log := m.c.Deps.Progress, m.progress
	if p == nil {
		return nil
	}
	snap, ok := m.flow.Snapshot(m.c.Deps.Now())
	if !ok {
		return nil
	}
	log.pending.Add(1)
	return func() tea.Msg {
		log.mu.Lock()
		defer log.mu.Unlock()
		defer log.pending.Done()
		if !log.dropped[snap.Domain] {
			_ = p.Save(snap)
		}
		return nil
	}
}

// forget drops the saved progress of a finished flow.
func (m *Model) forget() tea.Cmd {
	p, log, domain := m.c.Deps.Progress, m.progress, m.flow.Value(flows.FieldDomain)
	if p == nil || domain == "" {
		return nil
	}
	log.pending.Add(1)
	return func() tea.Msg {
		log.mu.Lock()
		defer log.mu.Unlock()
		defer log.pending.Done()
		log.dropped[domain] = true
		_ = p.Delete(domain)
		return nil
	}
}

// Flow is the flow as the wizard left it.
func (m *Model) Flow() *flows.State { return m.flow }

// Finished reports whether the customer reached the end and finished.
func (m *Model) Finished() bool { return m.finished }

// QuitNote says, in a sentence or two, what is true when the wizard is
// left before the end: what was set up, registered and checked, and what
// stays as it is.
func (m *Model) QuitNote() string {
	again, stays := " Run rekwiz again to finish.", func(what string) string { return "; " + what + "." }
	if m.c.Deps.Demo {
		// Nothing stays: the demo's sandbox lives in this process.
		again, stays = " It was all in the demo's sandbox, which ends now.", func(string) string { return "." }
	}
	domain := m.flow.Value(flows.FieldDomain)
	pasted := false
	for _, f := range flows.PasteFields(m.flow.Provider()) {
		if m.flow.Value(f) != "" {
			pasted = true
		}
	}
	switch r := m.flow.Receipt(); {
	case m.flow.Paired():
		if m.c.Deps.Demo {
			return "The key was paired." + again
		}
		return "The key is paired: " + m.flow.Vendor().Name + " can use it. Nothing is left to do."
	case r != nil && len(m.flow.Checks()) > 0:
		return "The key is registered with " + domain + " as " + r.RekID + ", but the pairing check did not pass" + stays("it stays registered and set up") + again
	case r != nil:
		return "The key is registered with " + domain + " as " + r.RekID + " but not checked yet" + stays("what is set up and registered stays so") + again
	case m.setUp || pasted:
		return "The key is set up but not registered" + stays("what is set up stays set up") + again
	case m.sawScript && m.c.Deps.Demo:
		return "The script was shown but not run: nothing was set up." + again
	case m.sawScript:
		return "The script was shown but rekwiz did not run it, so rekwiz changed nothing in your account (if you ran the script yourself, what it set up stays set up)." + again
	}
	return "Nothing was set up yet." + again
}

// Summary is what the wizard configured; valid once Finished.
func (m *Model) Summary() Summary { return summarize(m.flow, m.c.Deps) }

// Init asks the terminal for its background colour without waiting for
// the answer (a web terminal may never give one: the wizard starts dark
// and changes if one comes), and enters the first step.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(tea.RequestBackgroundColor, m.enterCmd)
}

// enter makes the flow's current step the active component.
func (m *Model) enter() tea.Cmd {
	next := m.flow.Step()
	if m.active != 0 && m.active != next {
		m.steps[m.active].Leave()
	}
	m.active = next
	m.scroll, m.anchor = 0, -1
	if next == flows.StepScript {
		m.sawScript = true
	}
	return m.steps[next].Enter(m.flow)
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		return m, nil
	case tea.BackgroundColorMsg:
		m.c.Styles = newStyles(msg.IsDark())
		m.help.Styles = m.c.Styles.Help
		return m, nil
	case tea.KeyPressMsg:
		if key.Matches(msg, m.c.Keys.Quit) {
			return m, m.quit()
		}
		if m.tooSmall() {
			return m, nil
		}
		if m.scrollKey(msg) {
			return m, nil
		}
		if m.discard != nil {
			return m, m.discardKey(msg)
		}
		if m.offer != nil {
			return m, m.offer.Update(msg)
		}
	case resumeChoiceMsg:
		if msg.snap != nil {
			m.dropSaved(msg.snap.Domain)
			_, _ = m.flow.Resume(*msg.snap)
		} else if snap, ok := m.savedFor(m.flow.Value(flows.FieldDomain)); ok {
			// Starting over on the domain given: ask first.
			m.discard = &discardAsk{snap: snap}
			return m, nil
		}
		m.offer = nil
		return m, m.enter()
	case submitMsg:
		if m.active == flows.StepDomain {
			if snap, ok := m.savedFor(msg.values[flows.FieldDomain]); ok {
				m.discard = &discardAsk{snap: snap, submit: &msg}
				return m, nil
			}
		}
		return m, m.submit(msg)
	case backMsg:
		for f, v := range msg.values {
			m.flow.Set(f, v)
		}
		if m.flow.Back() {
			return m, m.enter()
		}
		return m, nil
	case goBackToMsg:
		if m.flow.GoBackTo(msg.step) {
			return m, m.enter()
		}
		return m, nil
	case prefillMsg:
		for f, v := range msg.values {
			m.flow.Set(f, v)
		}
		m.setUp = true
		return m, nil
	case appliedMsg:
		m.flow.SetReceipt(msg.receipt)
		return m, nil
	case pairedMsg:
		m.flow.SetPairing(msg.checks)
		return m, nil
	case finishMsg:
		m.finished = true
		return m, tea.Sequence(m.forget(), m.quit())
	}
	return m, m.route(msg)
}

// submit records a step's answers and moves the flow on.
func (m *Model) submit(msg submitMsg) tea.Cmd {
	for f, v := range msg.values {
		m.flow.Set(f, v)
	}
	if msg.receipt != nil {
		m.flow.SetReceipt(*msg.receipt)
	}
	if msg.checks != nil {
		m.flow.SetPairing(msg.checks)
	}
	if err := m.flow.Next(); err != nil {
		var fe flows.FieldErrors
		if errors.As(err, &fe) {
			return m.route(fe)
		}
		return nil // work not finished: the step shows why
	}
	return tea.Batch(m.enter(), m.save())
}

// route gives a message to the current step only.
func (m *Model) route(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	m.steps[m.active], cmd = m.steps[m.active].Update(msg)
	return cmd
}

// quit stops the current step's work before the program ends, so the
// terminal is handed back at once and nothing is left running.
func (m *Model) quit() tea.Cmd {
	if m.offer == nil {
		m.steps[m.active].Leave()
	}
	if m.c.Deps.Progress == nil {
		return tea.Quit
	}
	return tea.Sequence(m.progress.flush, tea.Quit)
}

func (m *Model) resize(w, h int) {
	m.width, m.height = w, h
	m.c.Width = max(w-2*padX, 1)
	m.c.Height = max(h-headerLines-footerLines, 1)
	m.help.SetWidth(m.c.Width)
	for _, s := range m.steps {
		s.SetSize(m.c.Width, m.c.Height)
	}
}

func (m *Model) tooSmall() bool { return m.width < MinWidth || m.height < MinHeight }

func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "rekwiz"
	return v
}

func (m *Model) render() string {
	st := m.c.Styles
	if m.tooSmall() {
		msg := fmt.Sprintf("The terminal is %d×%d; rekwiz needs at least %d×%d.\n\nMake the window larger, or use the commands that need no screen: rekwiz script, rekwiz verify.\n\nctrl+c quits.",
			m.width, m.height, MinWidth, MinHeight)
		return lipgloss.NewStyle().Width(max(m.width, 10)).Render(msg)
	}
	w := m.c.Width
	view, keys := "", []key.Binding(nil)
	switch {
	case m.discard != nil:
		view, keys = m.discardView(), m.discardBindings()
	case m.offer != nil:
		view, keys = m.offer.View(), m.offer.Bindings().ShortHelp()
	default:
		view, keys = m.steps[m.active].View(), m.helpKeys()
	}
	body := lipgloss.NewStyle().Width(w).Height(m.c.Height).MaxHeight(m.c.Height).Render(m.window(view))
	helpLine := m.fitHelp(keys)
	out := strings.Join([]string{m.header(), st.Rule.Render(strings.Repeat("─", w)), body, st.Rule.Render(strings.Repeat("─", w)), helpLine}, "\n")
	return st.App.Render(out)
}

// helpKeys is the current step's help, without "back" where there is
// nowhere to go back to.
func (m *Model) helpKeys() []key.Binding {
	var out []key.Binding
	for _, b := range m.steps[m.active].Bindings().ShortHelp() {
		if !m.flow.CanGoBack() && b.Help() == m.c.Keys.Back.Help() {
			continue
		}
		out = append(out, b)
	}
	return out
}

func (m *Model) header() string {
	st := m.c.Styles
	w := m.c.Width
	title := st.Title.Render("rekwiz") + st.Muted.Render(" · Root Encryption Key for "+m.flow.Vendor().Name)
	badge := ""
	switch {
	case m.c.Deps.Demo:
		badge = "DEMO"
	case m.flow.Vendor().Placeholder:
		badge = "NO VENDOR PROFILE" // the sandbox's vendor, outside the demo
	}
	if badge != "" {
		badge := st.Badge.Render(badge)
		gap := w - lipgloss.Width(title) - lipgloss.Width(badge)
		if gap >= 1 {
			title += strings.Repeat(" ", gap) + badge
		} else {
			title = truncate(title, w-lipgloss.Width(badge)-1) + " " + badge
		}
	}
	stage := m.active.Stage()
	dots := strings.Repeat("●", stage) + strings.Repeat("○", flows.Stages-stage)
	progress := st.Progress.Render(fmt.Sprintf("Step %d of %d · ", stage, flows.Stages)) + st.StepName.Render(m.active.Title())
	if gap := w - lipgloss.Width(progress) - lipgloss.Width(dots); gap >= 2 {
		progress += strings.Repeat(" ", gap) + st.Progress.Render(dots)
	}
	if badge == "" {
		title = truncate(title, w)
	}
	return title + "\n" + progress
}

func domainIntro(s *flows.State) string {
	return "rekwiz sets up your domain's Root Encryption Key in your own cloud account and lets " +
		s.Vendor().Name + " use it to wrap and unwrap its keys, nothing more. Start with the domain ID."
}

func keyDetailsIntro(s *flows.State) string {
	return s.Provider().Cloud().KeyDetailsIntro(s.KeyChoice())
}

func pasteIntro(c *Common, s *flows.State) string {
	intro := "The script's last lines say \"(save this for next step)\". Paste the value here, or the whole lines: rekwiz picks the values out."
	for _, f := range flows.PasteFields(s.Provider()) {
		if s.Value(f) != "" || s.Secret(f) != "" {
			return intro
		}
	}
	// Nothing to paste yet: say where the values come from.
	if c.Deps.Demo && c.Deps.Setup[s.Provider()] != nil {
		return "Nothing to paste yet: in the demo the values come from the set-up. Press esc to go back to the script step, then r to set it up; the values are filled in here."
	}
	return intro + " Not run it yet? esc goes back to the script."
}
