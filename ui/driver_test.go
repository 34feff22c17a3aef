package ui

import (
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/rekwiz/rekwiz/flows"
)

// driver runs the root model the way a program does, without a terminal:
// each message goes to Update, and the commands it returns are run and
// their messages fed back, until nothing is left to do. Spinner ticks are
// dropped (they would tick forever); the wizard's cursors do not blink.
type driver struct {
	t        testing.TB
	m        *Model
	quit     bool
	received []tea.Msg // every message the commands produced
	// blocked, when set, abandons a command that has not returned after
	// it: for work a test keeps blocked on purpose.
	blocked time.Duration
}

func newDriver(t testing.TB, flow *flows.State, deps Deps, w, h int) *driver {
	t.Helper()
	d := &driver{t: t, m: New(flow, deps)}
	d.send(tea.WindowSizeMsg{Width: w, Height: h})
	d.run(d.m.Init())
	return d
}

func (d *driver) send(msg tea.Msg) {
	d.t.Helper()
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

// run executes cmd and everything it leads to.
func (d *driver) run(cmd tea.Cmd) {
	d.t.Helper()
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 1000 {
			d.t.Fatal("commands never settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		limit := 10 * time.Second
		if d.blocked > 0 {
			limit = d.blocked
		}
		msg, ok := within(c, limit)
		if !ok && d.blocked > 0 {
			continue
		}
		if !ok {
			d.t.Fatal("a command did not return in 10s")
		}
		switch m := msg.(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, m...)
		case spinner.TickMsg:
		case tea.QuitMsg:
			d.quit = true
		default:
			d.received = append(d.received, msg)
			_, next := d.m.Update(msg)
			queue = append(queue, next)
		}
	}
}

// within runs a command, giving up after d.
func within(c tea.Cmd, d time.Duration) (tea.Msg, bool) {
	ch := make(chan tea.Msg, 1)
	go func() { ch <- c() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case m := <-ch:
		return m, true
	case <-timer.C:
		return nil, false
	}
}

func (d *driver) key(names ...string) {
	d.t.Helper()
	for _, n := range names {
		d.send(keyPress(n))
	}
}

func keyPress(n string) tea.KeyPressMsg {
	switch n {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	}
	r := []rune(n)
	return tea.KeyPressMsg{Code: r[0], Text: n}
}

func (d *driver) typ(s string) {
	d.t.Helper()
	for _, r := range s {
		d.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func (d *driver) paste(s string) { d.t.Helper(); d.send(tea.PasteMsg{Content: s}) }

// screen is what the terminal shows, without colour or style.
func (d *driver) screen() string { return ansi.Strip(d.m.View().Content) }

// wantScreen fails unless the screen shows every text, wherever the
// text was wrapped: runs of spaces and line breaks compare as one space.
func (d *driver) wantScreen(subs ...string) {
	d.t.Helper()
	s := d.screen()
	flat := strings.Join(strings.Fields(s), " ")
	for _, sub := range subs {
		if !strings.Contains(flat, strings.Join(strings.Fields(sub), " ")) {
			d.t.Fatalf("screen lacks %q:\n%s", sub, s)
		}
	}
}

func (d *driver) wantStep(st flows.Step) {
	d.t.Helper()
	if got := d.m.Flow().Step(); got != st {
		d.t.Fatalf("at %s, want %s:\n%s", got, st, d.screen())
	}
}
