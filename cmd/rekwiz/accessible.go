package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rekwiz/rekwiz/ui/accessible"
	"github.com/rekwiz/rekwiz/ui/termtext"
)

// addAccessibleFlag registers --accessible on a command that runs the
// wizard.
func addAccessibleFlag(fs *pflag.FlagSet, on *bool) {
	fs.BoolVar(on, "accessible", false, "ask line by line on plain standard input and output: no full screen, colour or cursor movement; for screen readers and pipes (ACCESSIBLE=1, or TERM=dumb, does the same)")
}

// accessibleMode reports whether the wizard runs line by line: asked
// for with --accessible or ACCESSIBLE (any value), or at a terminal that
// cannot draw a screen (TERM=dumb).
func accessibleMode(o *wizardOptions) bool {
	if o.Accessible {
		return true
	}
	getenv := o.IO.Getenv
	if getenv == nil {
		return false
	}
	return getenv("ACCESSIBLE") != "" || strings.TrimSpace(getenv("TERM")) == "dumb"
}

// runAccessible is the wizard as plain lines, over the same flow and
// dependencies as the full-screen one. It needs no terminal: stdin may
// be a pipe. End of input before the end exits 2, ctrl+c 130; each says
// what stays as it is.
func runAccessible(ctx context.Context, o *wizardOptions) error {
	w, err := newWizard(ctx, o)
	if err != nil {
		return err
	}
	defer w.close()
	aio := accessible.IO{In: o.IO.In, Out: o.IO.Out}
	if rs := o.IO.ReadSecret; rs != nil {
		// ReadSecret is there only when stdin is a terminal, which
		// echoes what is typed.
		aio.Terminal = true
		aio.ReadSecret = func(ctx context.Context) ([]byte, error) { return rs(ctx, "") }
	}
	wiz := accessible.New(w.flow, w.deps, aio)
	err = wiz.Run(ctx)
	step := strings.ToLower(wiz.Flow().Step().Title())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, accessible.ErrEndOfInput):
		return &exitError{code: exitUsage, msg: fmt.Sprintf("end of input at the %s step, before the wizard was done. %s", step, wiz.QuitNote())}
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(o.IO.Err, "\nrekwiz: interrupted at the %s step. %s\n", step, termtext.Text(wiz.QuitNote()))
		return &exitError{code: exitInterrupted}
	}
	return &exitError{code: exitUsage, msg: err.Error()}
}
