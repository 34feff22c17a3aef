package accessible

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/scripts"
	"github.com/rekwiz/rekwiz/ui"
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
	w.out.line("The setup script for " + spec.Provider.Title() + ". Run it where your cloud's command-line tool is signed in; its first lines say which, and where.")
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
		path := w.resolve(s)
		exists, err := writeScript(path, text, false)
		if exists {
			ok, err := w.confirm(ctx, path+" exists. Replace it?")
			if err != nil && !errors.Is(err, errBack) {
				return err
			}
			if !ok {
				continue
			}
			_, err = writeScript(path, text, true)
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

// resolve makes a file name typed at the save question a path: ~/ is
// the home directory, a relative name is in the save directory.
func (w *Wizard) resolve(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(w.deps.SaveDir, p)
	}
	return p
}

// writeScript writes a script as the full-screen wizard's save dialog
// does: without overwrite it creates the file exclusively (0700) and
// reports an existing one; with overwrite it writes a temporary file
// beside it and renames it into place.
func writeScript(path, content string, overwrite bool) (exists bool, err error) {
	if !overwrite {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
		if errors.Is(err, fs.ErrExist) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		_, err = f.WriteString(content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rekwiz-script-*")
	if err != nil {
		return false, err
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
	return false, err
}

// setUpForMe does what the script does through the SDK, with the same
// consent as the full-screen wizard: the plan read first (read-only) and
// shown, then y/n; a different statement under the vendor's Sid is
// replaced only after a second question that names what is lost.
func (w *Wizard) setUpForMe(ctx context.Context, spec flows.SetupSpec) error {
	setup := w.deps.Setup[spec.Provider]
	run := setup.Run
	w.out.line("")
	w.out.line("Set it up for me: rekwiz will make the calls the script makes, " + w.who() + ". Nothing is deleted.")
	if p, ok := setup.(ui.Planner); ok {
		w.out.line("Reading what is there (read-only calls)…")
		plan, err := p.Plan(ctx, spec)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ui.ErrNoPlan):
		case err != nil:
			w.out.line("✗ Could not read what is there: " + err.Error())
			w.out.line("Nothing was changed.")
			return nil
		default:
			w.printPlan(plan)
			if c := plan.Conflict; c != nil {
				r, ok := setup.(ui.StatementReplacer)
				if !ok {
					w.out.line("rekwiz cannot replace it here; change it yourself, then choose \"Set it up for me\" again.")
					return nil
				}
				yes, err := w.confirm(ctx, "Go ahead, replacing it?")
				if err != nil || !yes {
					return w.declined(err)
				}
				w.printLosses(c)
				yes, err = w.confirm(ctx, "Replace "+replaced(c)+" and go ahead?")
				if err != nil || !yes {
					return w.declined(err)
				}
				run = r.RunReplacing
				return w.runSetup(ctx, spec, run)
			}
		}
	}
	yes, err := w.confirm(ctx, "Go ahead?")
	if err != nil || !yes {
		return w.declined(err)
	}
	return w.runSetup(ctx, spec, run)
}

// declined is a no (or back) to a consent question: nothing runs.
func (w *Wizard) declined(err error) error {
	if err != nil && !errors.Is(err, errBack) {
		return err
	}
	w.out.line("Nothing was changed.")
	return nil
}

func (w *Wizard) who() string {
	if w.deps.Demo {
		return "as the sandbox's customer admin"
	}
	return "with your own cloud sign-in"
}

// printPlan says what the set-up found and will do.
func (w *Wizard) printPlan(p flows.SetupPlan) {
	home := "account"
	if p.Home != "" {
		home = p.Home
	}
	w.out.line("Signed in: " + home + " " + p.Account + " as " + p.Caller)
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		w.out.line(title + ":")
		for _, it := range items {
			w.out.line("  - " + capitalise(it))
		}
	}
	list("It will", p.Changes)
	list("Already in place, kept as it is", p.Kept)
	if p.PolicyDiff != "" {
		w.out.line("The key policy, before (lines starting -) and after (lines starting +):")
		w.out.line(indent(p.PolicyDiff))
	}
	if p.UserPolicy != "" {
		w.out.line("The user's inline policy:")
		w.out.line(indent(p.UserPolicy))
	}
	if len(p.Changes) == 0 {
		w.out.line("✓ Everything is in place; nothing will change.")
	}
	if c := p.Conflict; c != nil {
		what, in, ours, fix := "The key policy already has a statement "+c.Sid, "The statement in the key policy", "The statement rekwiz writes", "remove it or give it another Sid yourself"
		if c.Where != "" {
			what, in, ours, fix = capitalise(c.Where)+" is already there", capitalise(c.Where), "The policy rekwiz writes", "change it yourself"
		}
		w.out.line("✗ " + what + ", and it is not the one rekwiz writes. rekwiz changes it only if you confirm, twice; or say n, then " + fix + ".")
		w.out.line(in + ":")
		w.out.line(indent(c.Existing))
		w.out.line(ours + ":")
		w.out.line(indent(c.Ours))
	}
}

func (w *Wizard) printLosses(c *flows.StatementConflict) {
	in := "the statement in the key policy"
	if c.Where != "" {
		in = c.Where
	}
	w.out.line("Replacing it loses what " + in + " says and rekwiz's does not:")
	for _, l := range c.Losses {
		w.out.line("  - " + capitalise(l))
	}
}

func replaced(c *flows.StatementConflict) string {
	if c.Where != "" {
		return c.Where
	}
	return "statement " + c.Sid
}

// runSetup makes the calls, a line per call as it is made, and keeps
// the values it printed for the paste step.
func (w *Wizard) runSetup(ctx context.Context, spec flows.SetupSpec,
	run func(context.Context, flows.SetupSpec, func(flows.SetupEvent)) (flows.SetupResult, error)) error {
	w.out.line("Setting it up…")
	res, err := run(ctx, spec, func(ev flows.SetupEvent) {
		if ev.Err != nil {
			w.out.line("✗ " + ev.Call + ": " + ev.Err.Error())
			return
		}
		l := "✓ " + ev.Call
		if ev.Detail != "" {
			l += ": " + ev.Detail
		}
		w.out.line(l)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		w.out.line("✗ Stopped: " + err.Error())
		w.out.line("Calls already made are kept; running it again picks up from there.")
		return nil
	}
	w.setUp = true
	w.setup, w.setupSpec = &res, spec
	for f, v := range res.Paste {
		_ = w.flow.Set(f, v)
	}
	w.out.line("✓ Done. The paste step is filled in with:")
	for _, f := range flows.PasteFields(spec.Provider) {
		if v, ok := res.Paste[f]; ok {
			w.out.line("  " + flows.Spec(f).Label + ": " + w.shown(flows.Spec(f), v))
		}
	}
	return nil
}

func capitalise(t string) string {
	if r := []rune(t); len(r) > 0 {
		return strings.ToUpper(string(r[0])) + string(r[1:])
	}
	return t
}

// indent indents every line of preformatted text by two spaces.
func indent(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}
