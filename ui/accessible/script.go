package accessible

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fsutil"
	"github.com/rekwiz/rekwiz/scripts"
)

// The lines the script is printed between, so that a screen reader user
// (or a pipe) knows exactly where it starts and ends.
const (
	scriptBegin = "----- BEGIN SCRIPT %s (%d lines) -----"
	scriptEnd   = "----- END SCRIPT %s -----"
)

// script shows the setup script between markers, then asks what to do
// with it: go on to paste what it printed, save it, have rekwiz make its
// calls ("set it up for me"), show it again, or go back.
func (w *Wizard) script(ctx context.Context) error {
	w.sawScript = true
	spec, err := w.flow.SetupSpec()
	var text string
	if err == nil {
		text, err = w.deps.RenderScript(spec)
	}
	if err != nil {
		msg := err.Error()
		if errors.Is(err, scripts.ErrNotBuilt) {
			msg = "The script for " + spec.Provider.Title() + " is not built yet in this version of rekwiz."
		}
		w.out.line("✗ " + msg)
		_, err := w.choose(ctx, "What now?", []option{{title: "Go back"}}, 0)
		if err != nil && !errors.Is(err, errBack) {
			return err
		}
		return errBack
	}
	if w.setup != nil && spec != w.setupSpec {
		w.setup = nil // made for other answers
	}
	name := scripts.FileName(spec, scripts.Options{})
	w.printScript(spec, name, text)
	for {
		type action int
		const (
			goOn action = iota
			save
			setUp
			show
			back
		)
		var (
			opts    []option
			actions []action
		)
		add := func(a action, o option) { opts, actions = append(opts, o), append(actions, a) }
		def := 0
		switch {
		case w.setup != nil:
			add(goOn, option{title: "Go on", detail: "the set-up filled in the paste step"})
		default:
			add(goOn, option{title: "I ran it", detail: "go on to paste what it printed"})
		}
		add(save, option{title: "Save it to a file", detail: "to run it yourself"})
		if w.canSetUp(spec) {
			detail := "rekwiz makes the script's calls itself, after showing what it will change"
			if w.deps.Demo {
				detail = "rekwiz makes the script's calls against the demo's sandbox"
			}
			if w.deps.Demo && w.setup == nil {
				def = len(opts)
			}
			add(setUp, option{title: "Set it up for me", detail: detail})
		}
		add(show, option{title: "Show the script again"})
		add(back, option{title: "Go back", detail: "to the step before"})
		i, err := w.choose(ctx, "What now?", opts, def)
		if err != nil {
			return err
		}
		switch actions[i] {
		case goOn:
			if w.setup != nil {
				for f, v := range w.setup.Paste {
					_ = w.flow.Set(f, v)
				}
			}
			if err := w.next(); err != nil {
				w.sayErrors(err)
				continue
			}
			return nil
		case save:
			if err := w.saveScript(ctx, name, text); err != nil {
				return err
			}
		case setUp:
			if err := w.setUpForMe(ctx, spec); err != nil {
				return err
			}
		case show:
			w.printScript(spec, name, text)
		case back:
			return errBack
		}
	}
}

func (w *Wizard) printScript(spec flows.SetupSpec, name, text string) {
	lines := strings.Count(text, "\n")
	if !strings.HasSuffix(text, "\n") {
		lines++
	}
	cloud := spec.Provider.Cloud()
	w.out.line("The setup script for " + spec.Provider.Title() + ". Run it where the " + cloud.CLI() + " is signed in (" + cloud.Shell() + " works).")
	w.out.linef(scriptBegin, name, lines)
	w.out.line(strings.TrimSuffix(text, "\n"))
	w.out.linef(scriptEnd, name)
	if w.deps.Demo && w.canSetUp(spec) {
		w.out.line("This is the demo: no shell is signed in to the sandbox, so choose \"Set it up for me\" and rekwiz makes these calls against it.")
	}
}

func (w *Wizard) canSetUp(spec flows.SetupSpec) bool { return w.deps.Setup[spec.Provider] != nil }

// saveScript asks for a file name and writes the script there. It never
// replaces a file unasked: the file is created only if it is not there,
// and an existing one means asking first.
func (w *Wizard) saveScript(ctx context.Context, name, text string) error {
	for {
		s, err := w.ask(ctx, "Save as ["+name+"]: ")
		if errors.Is(err, errBack) {
			w.out.line("Not saved.")
			return nil
		}
		if err != nil {
			return err
		}
		if s == "" {
			s = name
		}
		path := fsutil.ExpandPath(s, w.deps.SaveDir)
		exists, err := fsutil.WriteExecutable(path, text, false)
		if exists {
			ok, err := w.confirm(ctx, path+" exists. Replace it?")
			if err != nil && !errors.Is(err, errBack) {
				return err
			}
			if !ok {
				continue
			}
			_, err = fsutil.WriteExecutable(path, text, true)
			if err == nil {
				w.saved(path)
				return nil
			}
		}
		if err != nil {
			w.out.line("✗ could not save: " + err.Error())
			continue
		}
		w.saved(path)
		return nil
	}
}

func (w *Wizard) saved(path string) {
	shown := path
	if rel, err := filepath.Rel(w.deps.SaveDir, path); err == nil && !strings.HasPrefix(rel, "..") {
		shown = rel
	}
	w.out.line("✓ Saved to " + shown + ". Run it with: bash " + shown)
}
