package ui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// setupResult is what "set it up for me" ended with.
type setupResult struct {
	res flows.SetupResult
	err error
}

// setupKey is a key while "set it up for me" runs, and after.
func (s *scriptStep) setupKey(msg tea.KeyPressMsg) tea.Cmd {
	k := s.keys
	if s.mode == scriptRunning {
		if key.Matches(msg, k.Stop) {
			s.Leave()
			s.mode = scriptViewing
			s.status = "Stopped. Calls already made are kept; running again picks up from there."
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Back):
		s.mode = scriptViewing
	case key.Matches(msg, k.Next) && s.result != nil:
		// The values go with the answer as well as before it: the
		// prefill may still be on its way.
		return send(submitMsg{values: s.result.Paste})
	}
	return nil
}

// run does what the script does, through the SDK, streaming each call.
func (s *scriptStep) run() tea.Cmd {
	setup, spec := s.runSetup(), s.spec
	s.mode, s.events, s.result, s.runErr, s.status = scriptRunning, nil, nil, nil, ""
	return s.job.start(func(ctx context.Context, progress func(flows.SetupEvent)) setupResult {
		res, err := setup(ctx, spec, progress)
		return setupResult{res: res, err: err}
	})
}

// event takes a call the set-up made.
func (s *scriptStep) event(ev flows.SetupEvent) { s.events = append(s.events, ev) }

// setupDone takes the set-up's result: its values fill the paste step.
func (s *scriptStep) setupDone(m setupResult) tea.Cmd {
	s.mode, s.runErr = scriptRan, m.err
	if m.err != nil {
		return nil
	}
	s.result = &m.res
	return send(prefillMsg{values: m.res.Paste})
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
