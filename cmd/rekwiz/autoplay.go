package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui"
)

// autoplayFlag's help, and what the demo's --provider means with it.
const autoplayUsage = "play the demo by itself at a human pace, for a presenter to show or record: every provider in turn, or the one --provider names; any key pauses, q stops"

// newAutoplay is `rekwiz demo --autoplay`'s model: the demo's wizard,
// started afresh for each provider (the same sandbox IDs as the demo),
// played at pace. It returns the function that closes the last sandbox.
func newAutoplay(ctx context.Context, o *wizardOptions, pace ui.Pace) (*ui.Autoplay, func(), error) {
	only := o.Presets[flows.FieldProvider]
	var others []string
	for f := range o.Presets {
		if f != flows.FieldProvider {
			others = append(others, "--"+string(f))
		}
	}
	if len(others) > 0 {
		sort.Strings(others)
		return nil, nil, &exitError{code: exitUsage, msg: strings.Join(others, ", ") + ": --autoplay types its own answers; only --provider and --seed go with it"}
	}
	if o.Accessible {
		return nil, nil, &exitError{code: exitUsage, msg: "--accessible: the autoplay draws the full-screen wizard; run rekwiz demo --accessible to walk it line by line"}
	}
	played := *o
	played.Presets = nil // the provider is chosen on its screen, as a person would
	current := func() {}
	start := func(flows.Provider) (*ui.Model, error) {
		current()
		w, err := newWizard(ctx, &played)
		if err != nil {
			current = func() {}
			return nil, err
		}
		current = w.close
		return ui.New(w.flow, w.deps), nil
	}
	// The providers the demo can take to the end, in the table's order.
	probe, err := newWizard(ctx, &played)
	if err != nil {
		return nil, nil, err
	}
	probe.close()
	var providers []flows.Provider
	for _, p := range flows.Providers() {
		if probe.deps.Pairing[p] != nil {
			providers = append(providers, p)
		}
	}
	if only != "" {
		p, err := flows.ParseProvider(only)
		if err != nil {
			return nil, nil, &exitError{code: exitUsage, msg: "--provider: " + err.Error()}
		}
		if probe.deps.Pairing[p] == nil {
			return nil, nil, &exitError{code: exitUsage, msg: "--provider: " + p.Title() + " is not in the demo yet; use another provider"}
		}
		providers = []flows.Provider{p}
	}
	return ui.NewAutoplay(start, pace, providers), func() { current() }, nil
}

// runAutoplay plays the demo in the terminal. q ends it (exit 0),
// ctrl+c too (exit 130); the terminal is restored either way.
func runAutoplay(ctx context.Context, o *wizardOptions) error {
	if !o.IO.Terminal {
		return &exitError{code: exitUsage, msg: "--autoplay needs a terminal to play in"}
	}
	a, closeAll, err := newAutoplay(ctx, o, ui.HumanPace())
	if err != nil {
		return err
	}
	defer closeAll()
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(o.IO.In), tea.WithOutput(o.IO.Out)}
	if noColor(o.Global.NoColor, o.IO.Getenv) {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	if _, err := tea.NewProgram(a, opts...).Run(); err != nil {
		return programError(err)
	}
	switch {
	case a.Err() != nil:
		return &exitError{code: exitUsage, msg: "autoplay: " + a.Err().Error()}
	case a.Finished():
		fmt.Fprintln(o.IO.Err, "rekwiz: autoplay played to the end.")
		return nil
	case a.Interrupted():
		return &exitError{code: exitInterrupted, msg: "autoplay stopped (ctrl+c)."}
	}
	fmt.Fprintln(o.IO.Err, "rekwiz: autoplay stopped.")
	return nil
}
