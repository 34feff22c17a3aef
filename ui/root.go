package ui

import (
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/rekwiz/rekwiz/flows"
)

// Model is the wizard: it owns the flow, routes each message to the
// current step, and moves the flow when a step reports an answer.
type Model struct {
	c      *Common
	keys   rootKeys
	flow   *flows.State
	steps  map[flows.Step]component // made as they are first shown (step)
	sized  bool                     // the steps were given a size (fitBody)
	active flows.Step
	// front, while set, is shown in the current step's place and takes
	// its keys: the resume screen (saved progress offered before the
	// first step, or the question before a saved domain is started over).
	front   component
	started bool // the first step was entered
	help    help.Model

	width, height int
	finished      bool
	// The body scrolls when a step's view is taller than it: scroll is
	// the first line shown, anchor the line last kept in view, and
	// anchored the view it was kept in view of: a new view (a mode of
	// the step, a call reported) brings its anchor into view again; the
	// same view leaves the customer's scrolling alone.
	scroll, anchor int
	anchored       string
	anchorRows     int // the body's rows when the anchor was kept in view
	overflow       bool
	// body is the current screen's view, drawn when it last changed
	// (settle): View shows it without drawing it again.
	body     string
	frame    frameParts // the header and footer, drawn by settle
	enterCmd tea.Cmd    // the first screen's work, started by Init
	// waiting is set while Deps.Later runs; held are the keys typed
	// meanwhile, and err is Later's error, which ended the wizard.
	waiting bool
	held    []tea.Msg
	err     error

	progress *progressLog

	// What has happened, for the line printed on quitting.
	sawScript bool // the script step was shown
	setUp     bool // "set it up for me" finished
}

// New makes the wizard for a flow.
func New(flow *flows.State, deps Deps) *Model {
	// The renderer measures what it draws rune by rune (ansi.WcWidth,
	// unless the terminal says it segments graphemes itself), and its
	// first rune past U+02FF (the rules' ─) fills a 2 MB width table:
	// filled here, on another goroutine, it is ready by the first frame.
	go ansi.WcWidth.StringWidth("─")
	c := &Common{Styles: newStyles(true), Keys: newKeyMap(), Deps: deps, Width: 80 - 2*padX, Height: 24 - headerLines - footerLines}
	m := &Model{c: c, keys: newRootKeys(c.Keys), flow: flow, help: help.New(), width: 80, height: 24, progress: &progressLog{dropped: map[string]bool{}}}
	m.steps = map[flows.Step]component{}
	m.help.Styles = c.Styles.Help
	m.waiting = deps.Later != nil
	if c.Deps.Now == nil {
		c.Deps.Now = time.Now
	}
	// The first screen exists before Init.
	if len(deps.Saved) > 0 {
		m.active = flow.Step()
		m.front = newResumeOffer(c, deps.Saved)
		m.enterCmd = m.front.Enter(flow)
	} else {
		m.enterCmd = m.enter()
	}
	m.settle()
	return m
}

// step is a step's component, made when the step is first shown: the
// first screen is drawn without making the others.
func (m *Model) step(st flows.Step) component {
	if comp, ok := m.steps[st]; ok {
		return comp
	}
	c := m.c
	var comp component
	switch st {
	case flows.StepDomain:
		comp = newFormStep(c, "Which domain is the key for?", domainIntro)
	case flows.StepProvider:
		comp = newChoiceStep(c, flows.FieldProvider, "Where will the key live?", providerItems)
	case flows.StepKey:
		comp = newChoiceStep(c, flows.FieldKey, "Which key?", keyItems)
	case flows.StepKeyDetails:
		comp = newFormStep(c, "About the key", keyDetailsIntro)
	case flows.StepScript:
		comp = newScriptStep(c)
	case flows.StepPaste:
		comp = newFormStep(c, "Paste what the script printed", func(s *flows.State, typed func(flows.Field) string) string { return pasteIntro(c, s, typed) })
	case flows.StepApply:
		comp = newApplyStep(c)
	case flows.StepCheck:
		comp = newCheckStep(c)
	case flows.StepDone:
		comp = newDoneStep(c)
	default:
		panic(fmt.Sprintf("ui: no screen for step %v", st))
	}
	if m.sized {
		comp.SetSize(c.Width, c.Height)
	}
	m.steps[st] = comp
	return comp
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
func (m *Model) Summary() Summary { return Summarize(m.flow, m.c.Deps) }

// Init asks the terminal for its background colour without waiting for
// the answer (a web terminal may never give one: the wizard starts dark
// and changes if one comes), and enters the first step.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(tea.RequestBackgroundColor, m.enterCmd, m.later())
}

// laterDelay is how long Deps.Later waits to start: a frame at
// bubbletea's 60 frames a second and a little, so that the first frame
// is drawn before the work competes with it for the processor.
const laterDelay = 20 * time.Millisecond

// later runs Deps.Later, the start-up work the first screen does without,
// once the first frame is out.
func (m *Model) later() tea.Cmd {
	if m.c.Deps.Later == nil {
		return nil
	}
	later, ctx := m.c.Deps.Later, m.c.Deps.context()
	return func() tea.Msg {
		select {
		case <-time.After(laterDelay):
		case <-ctx.Done():
			return laterMsg{err: ctx.Err()}
		}
		defaults, err := later(ctx)
		return laterMsg{defaults, err}
	}
}

// Err is why the wizard ended on its own, when its start-up work
// (Deps.Later) failed.
func (m *Model) Err() error { return m.err }

// taken ends the wait for Deps.Later: its defaults are recorded and the
// keys held meanwhile taken, in order; its error ends the wizard.
func (m *Model) taken(msg laterMsg) tea.Cmd {
	m.waiting = false
	held := m.held
	m.held = nil
	if msg.err != nil {
		m.err = msg.err
		return m.quit()
	}
	for f, v := range msg.defaults {
		if v != "" && !m.flow.Locked(f) && m.flow.Value(f) == "" {
			m.flow.Set(f, v)
		}
	}
	if len(held) == 0 {
		return nil
	}
	return send(heldMsg(held))
}

// heldMsg are keys typed while Deps.Later ran, to take in order: the
// first now, the rest after it, as if typed just then.
type heldMsg []tea.Msg

func (m *Model) takeHeld(held heldMsg) tea.Cmd {
	cmd := m.update(held[0])
	if len(held) == 1 {
		return cmd
	}
	return tea.Batch(cmd, send(held[1:]))
}

// enter makes the flow's current step the active component.
func (m *Model) enter() tea.Cmd {
	next := m.flow.Step()
	if m.active != 0 && m.active != next {
		m.step(m.active).Leave()
	}
	m.active, m.started = next, true
	m.scroll, m.anchor = 0, -1
	if next == flows.StepScript {
		m.sawScript = true
	}
	return m.step(next).Enter(m.flow)
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.settle()
	return m, cmd
}

// update takes a message: the root's own, or the current screen's.
func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		return nil
	case tea.BackgroundColorMsg:
		m.c.Styles = newStyles(msg.IsDark())
		m.help.Styles = m.c.Styles.Help
		return nil
	case laterMsg:
		return m.taken(msg)
	case heldMsg:
		return m.takeHeld(msg)
	case tea.PasteMsg:
		if m.waiting {
			m.held = append(m.held, msg)
			return nil
		}
	case tea.KeyPressMsg:
		if key.Matches(msg, m.keys.Quit) {
			return m.quit()
		}
		if m.waiting {
			m.held = append(m.held, msg)
			return nil
		}
		if m.tooSmall() {
			return nil
		}
		if key.Matches(msg, m.keys.Help) {
			m.help.ShowAll = !m.help.ShowAll
			return nil
		}
		if m.scrollKey(msg) {
			return nil
		}
	case resumeMsg:
		m.c.dropSaved(msg.snap.Domain)
		_, _ = m.flow.Resume(msg.snap)
		m.front = nil
		return m.enter()
	case startOverMsg:
		m.front = nil
		if msg.discard != "" {
			m.c.dropSaved(msg.discard)
		}
		switch {
		case msg.submit != nil:
			return m.submit(*msg.submit)
		case msg.discard != "":
			return tea.Batch(m.enter(), m.c.deleteProgress(msg.discard))
		}
		return m.enter()
	case resumeClosedMsg:
		m.front = nil
		return nil
	case submitMsg:
		if m.active == flows.StepDomain && m.front == nil {
			if snap, ok := m.c.savedFor(msg.values[flows.FieldDomain]); ok {
				m.front = newDiscardAsk(m.c, snap, msg)
				return m.front.Enter(m.flow)
			}
		}
		return m.submit(msg)
	case backMsg:
		for f, v := range msg.values {
			m.flow.Set(f, v)
		}
		if m.flow.Back() {
			return m.enter()
		}
		return nil
	case goBackToMsg:
		if m.flow.GoBackTo(msg.step) {
			return m.enter()
		}
		return nil
	case prefillMsg:
		for f, v := range msg.values {
			m.flow.Set(f, v)
		}
		m.setUp = true
		return nil
	case appliedMsg:
		m.flow.SetReceipt(msg.receipt)
		return nil
	case pairedMsg:
		m.flow.SetPairing(msg.checks)
		return nil
	case finishMsg:
		m.finished = true
		return tea.Sequence(m.forget(), m.quit())
	}
	return m.route(msg)
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

// route gives a message to the current screen only: the resume screen
// while it is up, else the current step.
func (m *Model) route(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	if m.front != nil {
		m.front, cmd = m.front.Update(msg)
		return cmd
	}
	m.steps[m.active], cmd = m.step(m.active).Update(msg)
	return cmd
}

// current is the screen shown: the resume screen while it is up, else
// the current step.
func (m *Model) current() component {
	if m.front != nil {
		return m.front
	}
	return m.step(m.active)
}

// quit stops the current step's work before the program ends, so the
// terminal is handed back at once and nothing is left running.
func (m *Model) quit() tea.Cmd {
	if m.started {
		m.step(m.active).Leave()
	}
	if m.c.Deps.Progress == nil {
		return tea.Quit
	}
	return tea.Sequence(m.progress.flush, tea.Quit)
}

func domainIntro(s *flows.State, _ func(flows.Field) string) string {
	return "rekwiz sets up your domain's Root Encryption Key in your own cloud account and lets " +
		s.Vendor().Name + " use it to wrap and unwrap its keys, nothing more. Start with the domain ID."
}

func keyDetailsIntro(s *flows.State, _ func(flows.Field) string) string {
	return s.Provider().Cloud().KeyDetailsIntro(s.KeyChoice())
}

func pasteIntro(c *Common, s *flows.State, typed func(flows.Field) string) string {
	intro := "The script's last lines say \"(save this for next step)\". Paste the value here, or the whole lines: rekwiz picks the values out."
	for _, f := range flows.PasteFields(s.Provider()) {
		if typed(f) != "" || s.Value(f) != "" || s.Secret(f) != "" {
			return intro
		}
	}
	// Nothing pasted or typed yet: say where the values come from.
	if c.Deps.Demo && c.Deps.Setup[s.Provider()] != nil {
		return "Nothing to paste yet: in the demo the values come from the set-up. Press esc to go back to the script step, then r to set it up; the values are filled in here."
	}
	return intro + " Not run it yet? esc goes back to the script."
}
