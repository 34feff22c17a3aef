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
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/rekwiz/rekwiz/ui/termtext"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, the same for every command.
const (
	exitOK          = 0
	exitCheckFailed = 1 // a pairing check failed
	exitUsage       = 2 // bad input or usage, or no terminal for the wizard
	exitSignIn      = 4 // not signed in to the cloud (aws configure, az login, gcloud auth application-default login)
	exitInterrupted = 130
)

// exitCodesHelp says the exit codes, for the commands' help.
const exitCodesHelp = `Exit codes: 0 success, 1 a pairing check failed, 2 bad input or usage,
4 not signed in to the cloud (the message names the command that signs
in: aws configure or aws sso login, az login, gcloud auth
application-default login), 130 interrupted.`

// IOStreams are the command's input and output, and whether they are a
// terminal: the wizard needs one, everything else works without.
type IOStreams struct {
	In       io.Reader
	Out      io.Writer
	Err      io.Writer
	Terminal bool
	Getenv   func(string) string
	// ReadSecret asks for a secret at the terminal without echoing it;
	// nil when there is no terminal to ask at. It returns ctx's error
	// when interrupted, and io.EOF at end of input (ctrl+d).
	ReadSecret func(ctx context.Context, prompt string) ([]byte, error)
}

// debugEnv are the variables that make the Charm stack write what it
// reads and draws to a file: a secret typed at the paste step would land
// there. They are removed before anything starts.
var debugEnv = []string{"TEA_TRACE", "TEA_DEBUG", "UV_DEBUG"}

// dropDebugEnv removes debugEnv from the environment, saying so in one
// line on w.
func dropDebugEnv(w io.Writer) {
	var dropped []string
	for _, k := range debugEnv {
		if _, ok := os.LookupEnv(k); ok {
			_ = os.Unsetenv(k)
			dropped = append(dropped, k)
		}
	}
	if len(dropped) > 0 {
		fmt.Fprintf(w, "rekwiz: ignoring %s: debug logging would record what you type, secrets included\n", strings.Join(dropped, ", "))
	}
}

// interruptGrace is how long a command has to wind down after ctrl+c,
// SIGINT or SIGTERM before rekwiz exits 130 regardless.
const interruptGrace = time.Second

func main() {
	dropDebugEnv(os.Stderr)
	ios := &IOStreams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		Terminal: term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stdout.Fd()),
		Getenv:   os.Getenv,
	}
	var saved *term.State
	if term.IsTerminal(os.Stdin.Fd()) {
		saved, _ = term.GetState(os.Stdin.Fd())
		ios.ReadSecret = func(ctx context.Context, prompt string) ([]byte, error) {
			return readSecret(ctx, func() ([]byte, error) { return term.ReadPassword(os.Stdin.Fd()) }, os.Stderr, prompt, saved)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		// Interrupted: every wait is given ctx and ends on its own; if
		// one does not within the grace, the terminal is put back and
		// rekwiz exits anyway. A second signal ends it at once.
		<-ctx.Done()
		stop()
		time.Sleep(interruptGrace)
		restoreTerminal(saved)
		fmt.Fprintln(os.Stderr, "\r\nrekwiz: interrupted")
		os.Exit(exitInterrupted)
	}()
	code := run(ctx, ios, realDeps(), os.Args[1:])
	if code != exitOK {
		restoreTerminal(saved)
	}
	stop()
	os.Exit(code)
}

func restoreTerminal(saved *term.State) {
	if saved != nil {
		_ = term.Restore(os.Stdin.Fd(), saved)
	}
}

// readSecret reads a line at the terminal without echo. Interrupted, it
// puts the terminal back and returns ctx's error at once (the read is
// abandoned: the process is about to exit).
func readSecret(ctx context.Context, read func() ([]byte, error), w io.Writer, prompt string, saved *term.State) ([]byte, error) {
	fmt.Fprint(w, prompt)
	defer fmt.Fprintln(w)
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := read()
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		restoreTerminal(saved)
		return nil, ctx.Err()
	}
}

// secretPromptError maps a failed masked prompt to the command's end:
// interrupted (130), or end of input (2).
func secretPromptError(what string, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, io.EOF):
		return &exitError{code: exitUsage, msg: "no " + what + " given (end of input)"}
	}
	return &exitError{code: exitUsage, msg: "reading the " + what + ": " + err.Error()}
}

// run executes a command line and maps its outcome to an exit code, in
// this one place. d reaches the clouds and the disk.
func run(ctx context.Context, ios *IOStreams, d *deps, args []string) (code int) {
	defer func() {
		// A panic is a defect: reported (escaped, with its stack for the
		// bug report) and exit code 1, not a crash; main then restores
		// the terminal. The wizard's own panics bubbletea recovers
		// first, restoring the terminal before anything is printed.
		if r := recover(); r != nil {
			fmt.Fprintf(ios.Err, "rekwiz: internal error: %s\n%s", termtext.Text(fmt.Sprint(r)), debug.Stack())
			code = exitCheckFailed
		}
	}()
	cmd := newRootCmd(ios, d)
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
			fmt.Fprintln(ios.Err, "rekwiz: "+termtext.Text(silent.msg))
		}
		return silent.code
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	if e, ok := notSignedIn(err); ok { // signin.go
		fmt.Fprintln(ios.Err, "rekwiz: "+termtext.Text(e.msg))
		return e.code
	}
	// Everything else is a usage error cobra or a command found in the
	// input: one sentence, and the hint to get help.
	fmt.Fprintf(ios.Err, "rekwiz: %s\nRun '%s --help' for usage.\n", termtext.Text(err.Error()), commandPath(cmd, args))
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
