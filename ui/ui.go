// Package ui is rekwiz's terminal wizard: one bubbletea component per
// step of the flow and a root model that routes between them.
//
// The flow itself (what each step asks, what follows what) lives in the
// flows package; ui draws it and turns the work each step does into
// tea.Cmds over the small interfaces declared here. ui must not talk to a
// cloud itself, print to stdout, or block Update on I/O.
package ui

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// Setuper performs a provider's setup through its SDK ("set it up for
// me"), reporting each call as it is made.
type Setuper interface {
	Run(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error)
}

// Pairer is a provider's pairing check.
type Pairer interface {
	Plan(t flows.Target) []flows.Check
	Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check
}

// Registrar registers a key with its domain (the apply step).
type Registrar interface {
	Register(ctx context.Context, t flows.Target) (flows.Receipt, error)
}

// Registration is a key a domain has registered already.
type Registration struct {
	RekID    string
	Provider string // as the registry names it: aws_am, aws_sa, azure_am
	Key      string // the alias ARN or key URL
	At       time.Time
}

// Replacer is a registry that can say which registration registering t
// would replace (a different key for a domain that has one), so the
// wizard asks first. found is false when it would replace nothing.
type Replacer interface {
	Replaces(ctx context.Context, t flows.Target) (old Registration, found bool, err error)
}

// Retester tests a key the domain has registered already (a registry
// that can answer "already registered" offers it instead).
type Retester interface {
	Retest(ctx context.Context, t flows.Target, rekID string) (flows.Receipt, error)
}

// Deps are what the wizard's steps do their work with. A provider without
// a Pairer is shown as not available yet.
type Deps struct {
	// Context is the command's: background work (set-up, apply, the
	// check) is cancelled with it. Nil is context.Background().
	Context  context.Context
	Setup    map[flows.Provider]Setuper
	Pairing  map[flows.Provider]Pairer
	Registry Registrar
	// RenderScript renders the setup script for a spec.
	RenderScript func(flows.SetupSpec) (string, error)
	// SaveDir is where scripts are saved (the working directory).
	SaveDir string
	// Demo marks `rekwiz demo`: everything runs against the sandbox.
	Demo bool
	// Progress saves the flow after each step (nil saves nothing), and
	// Saved is the progress of every domain left part-way, newest first:
	// offered before the first step, and asked about before a domain in
	// it is started over.
	Progress Progress
	Saved    []flows.Snapshot
	// Now is the clock progress is stamped with; nil is time.Now.
	Now func() time.Time
	// VerifyCommand is the command that checks the pairing again later,
	// shown on the last screen; nil shows none.
	VerifyCommand func(t flows.Target) string
	// Later is start-up work the first screen does not need (rekwiz's:
	// the demo's sandbox, the AWS configuration): Init starts it, so the
	// first frame is drawn without waiting for it. Until it is done, the
	// keys typed are held, then taken in order: no screen after the first
	// is reached without it. Its defaults fill the answers still empty
	// and not locked (answers of later steps: the first screen is drawn
	// already); its error ends the wizard, and Model.Err says it.
	Later func(ctx context.Context) (defaults map[flows.Field]string, err error)
}

// context is the command's context, or Background when none was given.
func (d Deps) context() context.Context {
	if d.Context == nil {
		return context.Background()
	}
	return d.Context
}

// supported reports whether the wizard can take a provider to the end.
func (d Deps) supported(p flows.Provider) bool { return d.Pairing[p] != nil }

// firstSupported is the first provider the wizard can take to the end
// (the first of all when none can).
func (d Deps) firstSupported() flows.Provider {
	all := flows.Providers()
	for _, p := range all {
		if d.supported(p) {
			return p
		}
	}
	return all[0]
}

// Messages children send to the root. Children never change the flow
// themselves: they say what happened and the root moves the flow.
type (
	// submitMsg is a step's answers; the root records them and moves on.
	// A step whose work ended says what it found here too (the receipt,
	// the checks): the message that reported it first may still be on
	// its way when the customer presses enter.
	submitMsg struct {
		values  map[flows.Field]string
		receipt *flows.Receipt
		checks  []flows.Check
	}
	// backMsg asks for the previous step, carrying what was typed on
	// this one so that coming back finds it there.
	backMsg struct{ values map[flows.Field]string }
	// goBackToMsg asks for an earlier step, the one that fixes a problem.
	goBackToMsg struct{ step flows.Step }
	// prefillMsg records answers for a later step (the paste step's
	// values, printed by "set it up for me").
	prefillMsg struct{ values map[flows.Field]string }
	// appliedMsg records a successful apply.
	appliedMsg struct{ receipt flows.Receipt }
	// pairedMsg records a finished pairing check.
	pairedMsg struct{ checks []flows.Check }
	// finishMsg ends the wizard.
	finishMsg struct{}
	// laterMsg is the end of Deps.Later.
	laterMsg struct {
		defaults map[flows.Field]string
		err      error
	}
)

func send(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

// streamMsg carries one message from work running in the background.
type streamMsg struct {
	ch  <-chan tea.Msg
	msg tea.Msg
}

// stream runs work on its own goroutine. Each message it sends arrives in
// Update as a streamMsg from this stream's channel; the receiver passes
// it to next() to get the message after it. Cancelling ctx unblocks a
// send nobody reads, so abandoned work always ends.
func stream(ctx context.Context, work func(send func(tea.Msg))) (tea.Cmd, <-chan tea.Msg) {
	ch := make(chan tea.Msg)
	go func() {
		defer close(ch)
		defer func() {
			// A panic in the work is handed to listen, which panics again
			// inside a tea.Cmd: bubbletea recovers it there, restores the
			// terminal and ends Run with ErrProgramPanic.
			if r := recover(); r != nil {
				select {
				case ch <- workPanic{r}:
				case <-ctx.Done():
				}
			}
		}()
		work(func(m tea.Msg) {
			select {
			case ch <- m:
			case <-ctx.Done():
			}
		})
	}()
	return listen(ch), ch
}

func listen(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		m, ok := <-ch
		if !ok {
			return nil
		}
		if p, ok := m.(workPanic); ok {
			panic(fmt.Sprintf("background work: %v", p.v))
		}
		return streamMsg{ch: ch, msg: m}
	}
}

// workPanic carries a panic out of a stream's goroutine.
type workPanic struct{ v any }
