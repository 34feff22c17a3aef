package ui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// Pace is how fast the autoplay walks the wizard. HumanPace is a pace a
// viewer can follow; tests play at the zero Pace.
type Pace struct {
	Char time.Duration // between two typed characters
	Key  time.Duration // between two keys that move (down, tab)
	Look time.Duration // on a new screen before the first key
	Read time.Duration // on a screen with results to read before going on
}

// HumanPace is the autoplay's pace for people: typing visible letter by
// letter, a screen long enough to read it. The one place the pace is set.
func HumanPace() Pace {
	return Pace{Char: 70 * time.Millisecond, Key: 450 * time.Millisecond, Look: 1800 * time.Millisecond, Read: 3500 * time.Millisecond}
}

// autoplayKey is the key choice the autoplay makes: a new key, so every
// provider's walk shows its whole set-up.
const autoplayKey = flows.KeyNew

// Starter makes a fresh wizard for the autoplay's walk of one provider
// (a new flow on the demo's sandbox, with the same IDs each time).
type Starter func(p flows.Provider) (*Model, error)

// Autoplay plays the wizard by itself for a presenter: for each provider
// in turn, it sends the real wizard's Update the keys and pastes a person
// would (typing letter by letter), waits for each screen's work to end,
// and leaves each screen up long enough to read. Any key pauses and
// resumes it; q or ctrl+c stops it. Between providers it starts the
// wizard again.
type Autoplay struct {
	start     Starter
	pace      Pace
	providers []flows.Provider
	next      int // the providers[next] is walked next

	m     *Model
	cues  []cue
	cur   *cue // the cue waiting for its moment, or nil
	gen   int  // numbers the ticks: a tick of an older gen is stale
	ready bool // cur's pause is over; it waits for its condition only

	width, height int
	paused        bool
	stopped       bool
	interrupted   bool             // stopped by ctrl+c
	reached       []flows.Provider // the walks that reached Done
	err           error            // starting a wizard failed
}

// cue is one move of the autoplay: after pause, once ready holds, send
// msg to the wizard; or, with more, be replaced by the cues more works
// out from the screen as it is then.
type cue struct {
	pause time.Duration
	ready func(m *Model) bool
	msg   func(m *Model) tea.Msg
	more  func(m *Model) []cue
}

// Autoplay's own messages.
type (
	autoplayTick  struct{ gen int }
	autoplayStart struct{}
)

// NewAutoplay plays the providers' walks, starting each wizard with start.
func NewAutoplay(start Starter, pace Pace, providers []flows.Provider) *Autoplay {
	return &Autoplay{start: start, pace: pace, providers: providers, width: 80, height: 24}
}

// Model is the wizard being played (nil before the first starts).
func (a *Autoplay) Model() *Model { return a.m }

// Stopped reports whether q or ctrl+c stopped the autoplay.
func (a *Autoplay) Stopped() bool { return a.stopped }

// Interrupted reports whether ctrl+c stopped the autoplay.
func (a *Autoplay) Interrupted() bool { return a.interrupted }

// Reached lists the providers whose walk reached the Done screen.
func (a *Autoplay) Reached() []flows.Provider { return a.reached }

// Paused reports whether a key paused the autoplay.
func (a *Autoplay) Paused() bool { return a.paused }

// Err is why a wizard could not be started, if it could not.
func (a *Autoplay) Err() error { return a.err }

// Finished reports whether every walk was played to the end.
func (a *Autoplay) Finished() bool {
	return a.m != nil && a.m.Finished() && a.next >= len(a.providers)
}

func (a *Autoplay) Init() tea.Cmd { return send(autoplayStart{}) }

func (a *Autoplay) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case autoplayStart:
		return a, a.startNext()
	case tea.WindowSizeMsg:
		a.width, a.height = msg.Width, msg.Height
		if a.m == nil {
			return a, nil
		}
		cmd := a.forward(a.innerSize())
		if a.ready && !a.paused && !a.stopped {
			return a, tea.Batch(cmd, a.step()) // a terminal made large enough
		}
		return a, cmd
	case tea.KeyPressMsg:
		return a, a.key(msg)
	case tea.KeyReleaseMsg, tea.PasteMsg:
		return a, nil // the autoplay types; the viewer does not
	case autoplayTick:
		if msg.gen != a.gen || a.paused || a.stopped {
			return a, nil
		}
		a.ready = true
		return a, a.step()
	}
	if a.m == nil {
		return a, nil
	}
	cmd := a.forward(msg)
	if a.ready && !a.paused && !a.stopped {
		return a, tea.Batch(cmd, a.step())
	}
	return a, cmd
}

// key is the viewer's key: q or ctrl+c stops, any other pauses or resumes.
func (a *Autoplay) key(msg tea.KeyPressMsg) tea.Cmd {
	if s := msg.String(); s == "q" || s == "ctrl+c" {
		a.stopped, a.interrupted = true, s == "ctrl+c"
		a.gen++
		if a.m != nil {
			return a.m.quit()
		}
		return tea.Quit
	}
	a.paused = !a.paused
	a.gen++
	if a.paused {
		return nil
	}
	// Resumed: the current cue's pause starts again.
	return a.schedule()
}

// forward gives the wizard a message.
func (a *Autoplay) forward(msg tea.Msg) tea.Cmd {
	_, cmd := a.m.Update(msg)
	if a.m.active == flows.StepDone && a.m.front == nil {
		p := a.providers[a.next-1]
		if n := len(a.reached); n == 0 || a.reached[n-1] != p {
			a.reached = append(a.reached, p)
		}
	}
	return cmd
}

func (a *Autoplay) innerSize() tea.WindowSizeMsg {
	return tea.WindowSizeMsg{Width: a.width, Height: max(a.height-1, 1)}
}

// startNext starts the wizard for the next provider, or ends the
// autoplay after the last.
func (a *Autoplay) startNext() tea.Cmd {
	if a.next >= len(a.providers) {
		return nil
	}
	if a.m != nil {
		a.m.steps[a.m.active].Leave() // nothing of it may run on
	}
	p := a.providers[a.next]
	m, err := a.start(p)
	if err != nil {
		a.err, a.stopped = err, true
		return tea.Quit
	}
	a.m = m
	a.next++
	a.cues = walk(p, a.pace, a.next < len(a.providers))
	cmds := []tea.Cmd{a.forward(a.innerSize()), a.m.Init(), a.advance()}
	return tea.Batch(cmds...)
}

// advance takes the next cue and waits its pause.
func (a *Autoplay) advance() tea.Cmd {
	if len(a.cues) == 0 {
		a.cur = nil
		return nil
	}
	c := a.cues[0]
	a.cues = a.cues[1:]
	a.cur = &c
	return a.schedule()
}

// schedule waits the current cue's pause.
func (a *Autoplay) schedule() tea.Cmd {
	a.ready = false
	if a.cur == nil {
		return nil
	}
	gen := a.gen
	if a.cur.pause <= 0 {
		return send(autoplayTick{gen: gen})
	}
	return tea.Tick(a.cur.pause, func(time.Time) tea.Msg { return autoplayTick{gen: gen} })
}

// step acts on the current cue if its moment has come; otherwise it
// waits for the wizard's next message to look again.
func (a *Autoplay) step() tea.Cmd {
	c := a.cur
	if c == nil || a.m.tooSmall() || (c.ready != nil && !c.ready(a.m)) {
		return nil // looked at again after the wizard's next message
	}
	a.ready, a.cur = false, nil
	if c.more != nil {
		a.cues = append(c.more(a.m), a.cues...)
	}
	var cmd tea.Cmd
	if c.msg != nil {
		switch msg := c.msg(a.m).(type) {
		case autoplayStart:
			return a.startNext()
		case nil:
		default:
			cmd = a.forward(msg)
		}
	}
	return tea.Batch(cmd, a.advance())
}

func (a *Autoplay) View() tea.View {
	if a.m == nil {
		return tea.NewView("")
	}
	v := a.m.View()
	st := a.m.c.Styles
	state := "▶ autoplay"
	if a.paused {
		state = "❚❚ paused"
	}
	line := fmt.Sprintf(" %s · %s (%d of %d) · any key pauses · q stops", state, a.providers[max(a.next-1, 0)].Title(), max(a.next, 1), len(a.providers))
	if a.paused {
		line = " " + state + " · any key resumes · q stops"
	}
	v.Content += "\n" + st.Muted.Render(truncate(line, max(a.width, 1)))
	return v
}

// walk is the autoplay's walk of the wizard for one provider, from the
// domain to Done: the same answers every time. more is set when another
// provider's walk follows, which restarts the wizard instead of
// finishing it.
func walk(p flows.Provider, pace Pace, more bool) []cue {
	at := func(st flows.Step) func(m *Model) bool {
		return func(m *Model) bool { return m.front == nil && m.active == st }
	}
	press := func(pause time.Duration, name string, ready func(*Model) bool) cue {
		return cue{pause: pause, ready: ready, msg: func(*Model) tea.Msg { return keyMsg(name) }}
	}
	cues := []cue{
		// The domain: typed, letter by letter.
		{pause: pace.Look, ready: at(flows.StepDomain), more: func(m *Model) []cue {
			d := m.flow.Value(flows.FieldDomain) // the demo's, filled in
			if d == "" {
				d = flows.Spec(flows.FieldDomain).Example
			}
			clear := cue{msg: func(*Model) tea.Msg { return keyMsg("ctrl+u") }}
			return append([]cue{clear}, typeText(pace, d)...)
		}},
		press(pace.Look, "enter", at(flows.StepDomain)),
		// The provider and the key: moved to, then chosen.
		{pause: pace.Look, ready: at(flows.StepProvider), more: func(m *Model) []cue { return chooseItem(m, pace, string(p)) }},
		press(pace.Look, "enter", at(flows.StepProvider)),
		{pause: pace.Look, ready: at(flows.StepKey), more: func(m *Model) []cue { return chooseItem(m, pace, string(autoplayKey)) }},
		press(pace.Look, "enter", at(flows.StepKey)),
		// The key's details: an empty field is typed its example.
		{pause: pace.Look, ready: at(flows.StepKeyDetails), more: func(m *Model) []cue { return fillForm(m, pace) }},
		press(pace.Key, "enter", at(flows.StepKeyDetails)),
		// The script: read, scrolled, then "set it up for me", with consent.
		press(pace.Read, "pgdown", at(flows.StepScript)),
		press(pace.Look, "r", at(flows.StepScript)),
		press(pace.Read, "y", func(m *Model) bool {
			s := m.scriptStep()
			return at(flows.StepScript)(m) && s.mode == scriptConfirmRun && s.canConsent()
		}),
		press(pace.Read, "enter", func(m *Model) bool {
			s := m.scriptStep()
			return at(flows.StepScript)(m) && s.mode == scriptRan && s.result != nil
		}),
		// The paste: what the set-up printed, pasted whole.
		press(pace.Look, "ctrl+u", at(flows.StepPaste)),
		{pause: pace.Key, msg: func(m *Model) tea.Msg { return tea.PasteMsg{Content: printed(m)} }},
		press(pace.Read, "enter", at(flows.StepPaste)),
		// Apply: registered, replacing the demo domain's earlier key when
		// there is one (the previous provider's).
		{pause: pace.Look, ready: func(m *Model) bool {
			return at(flows.StepApply)(m) && (m.flow.Receipt() != nil || m.applyStep().prior != nil)
		}, more: func(m *Model) []cue {
			if m.applyStep().prior != nil {
				return []cue{press(pace.Read, "y", nil)}
			}
			return nil
		}},
		press(pace.Read, "enter", func(m *Model) bool { return at(flows.StepApply)(m) && m.flow.Receipt() != nil }),
		// The pairing check, to its end.
		press(pace.Read, "enter", func(m *Model) bool { return at(flows.StepCheck)(m) && m.flow.Paired() }),
	}
	if more {
		return append(cues, cue{pause: pace.Read * 2, ready: at(flows.StepDone), msg: func(*Model) tea.Msg { return autoplayStart{} }})
	}
	return append(cues, press(pace.Read*2, "enter", at(flows.StepDone)))
}

// typeText types s a letter at a time.
func typeText(pace Pace, s string) []cue {
	out := make([]cue, 0, len(s))
	for _, r := range s {
		out = append(out, cue{pause: pace.Char, msg: func(*Model) tea.Msg { return tea.KeyPressMsg{Code: r, Text: string(r)} }})
	}
	return out
}

// chooseItem moves a choice step's cursor to the item with value v.
func chooseItem(m *Model, pace Pace, v string) []cue {
	s, ok := m.steps[m.active].(*choiceStep)
	if !ok {
		return nil
	}
	from, to := s.list.Index(), -1
	for i, it := range s.list.Items() {
		if it.(choiceItem).value == v {
			to = i
		}
	}
	if to < 0 {
		return nil
	}
	name, n := "down", to-from
	if n < 0 {
		name, n = "up", -n
	}
	out := make([]cue, 0, n)
	for range n {
		out = append(out, cue{pause: pace.Key, msg: func(*Model) tea.Msg { return keyMsg(name) }})
	}
	return out
}

// fillForm types each empty field of the form its example, moving from
// field to field with tab.
func fillForm(m *Model, pace Pace) []cue {
	f, ok := m.steps[m.active].(*formStep)
	if !ok {
		return nil
	}
	var out []cue
	for i, ff := range f.fields {
		if ff.locked {
			continue
		}
		if i > f.focus {
			out = append(out, cue{pause: pace.Key, msg: func(*Model) tea.Msg { return keyMsg("tab") }})
		}
		if ff.input.Value() == "" {
			out = append(out, typeText(pace, ff.spec.Example)...)
		}
	}
	return out
}

// printed is what the set-up printed for the paste step, as the script
// prints it: a labelled line per value (the secret too: a person pastes
// it from the script's output).
func printed(m *Model) string {
	var b strings.Builder
	for _, f := range flows.PasteFields(m.flow.Provider()) {
		v := m.flow.Value(f)
		if flows.Spec(f).Kind == flows.SecretField {
			v = m.flow.Secret(f)
		}
		b.WriteString(flows.PasteLine(f) + v + "\n")
	}
	return b.String()
}

func (m *Model) scriptStep() *scriptStep { return m.steps[flows.StepScript].(*scriptStep) }
func (m *Model) applyStep() *applyStep   { return m.steps[flows.StepApply].(*applyStep) }

// keyMsg is the key press a key's name stands for, as tea names keys.
func keyMsg(name string) tea.KeyPressMsg {
	switch name {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	}
	r := []rune(name)
	return tea.KeyPressMsg{Code: r[0], Text: name}
}
