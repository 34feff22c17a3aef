// Command rekwiz walks a customer through hosting their domain's Root
// Encryption Key in their own cloud and delegating it to the vendor.
//
// This package builds the dependencies once, from flags and the
// environment, and hands them to the wizard and the commands; it holds no
// state of its own between runs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, the same for every command.
const (
	exitOK          = 0
	exitCheckFailed = 1 // a pairing check failed
	exitUsage       = 2 // bad input or usage, or no terminal for the wizard
	exitInterrupted = 130
)

// IOStreams are the command's input and output, and whether they are a
// terminal: the wizard needs one, everything else works without.
type IOStreams struct {
	In       io.Reader
	Out      io.Writer
	Err      io.Writer
	Terminal bool
	Getenv   func(string) string
	// ReadSecret asks for a secret at the terminal without echoing it;
	// nil when there is no terminal to ask at.
	ReadSecret func(prompt string) ([]byte, error)
}

func main() {
	ios := &IOStreams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		Terminal: term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stdout.Fd()),
		Getenv:   os.Getenv,
	}
	if term.IsTerminal(os.Stdin.Fd()) {
		ios.ReadSecret = func(prompt string) ([]byte, error) {
			fmt.Fprint(os.Stderr, prompt)
			defer fmt.Fprintln(os.Stderr)
			return term.ReadPassword(os.Stdin.Fd())
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, ios, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes a command line and maps its outcome to an exit code, in
// this one place.
func run(ctx context.Context, ios *IOStreams, args []string) int {
	cmd := newRootCmd(ios)
	cmd.SetArgs(args)
	cmd.SetIn(ios.In)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.Err)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var silent *exitError
	switch {
	case errors.As(err, &silent):
		if silent.msg != "" {
			fmt.Fprintln(ios.Err, "rekwiz: "+silent.msg)
		}
		return silent.code
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	// Everything else is a usage error cobra or a command found in the
	// input: one sentence, and the hint to get help.
	fmt.Fprintf(ios.Err, "rekwiz: %v\nRun '%s --help' for usage.\n", err, commandPath(cmd, args))
	return exitUsage
}

// exitError ends a command with a code and, unless msg is empty (the
// command has said what it needed to), one line on stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// commandPath is the command the arguments name, for the help hint.
func commandPath(root *cobra.Command, args []string) string {
	if c, _, err := root.Find(args); err == nil && c != nil {
		return c.CommandPath()
	}
	return root.CommandPath()
}
