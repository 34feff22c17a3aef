package ui

import (
	"context"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
)

// job is background work a step runs (reading a plan, setting up,
// registering, checking): it reports progress of type P as it goes and
// ends with a result of type R. The job holds the way to cancel the
// work, the stream its messages arrive on, and the spinner shown
// meanwhile. A job runs one piece of work at a time.
//
// Every step's background work goes through it: start runs the work,
// update takes its messages (progress, the result, the spinner's ticks),
// stop cancels it.
type job[P, R any] struct {
	base   context.Context
	spin   spinner.Model
	cancel context.CancelFunc
	stream <-chan tea.Msg
}

// jobProgress and jobResult are what a job's work sends: each report
// along the way, and the result at the end.
type (
	jobProgress[P any] struct{ v P }
	jobResult[R any]   struct{ v R }
)

// none is the progress of work that reports none along the way.
type none struct{}

// newJob is a step's job; its work is cancelled with the command's
// context as well as by stop.
func newJob[P, R any](c *Common) job[P, R] {
	return job[P, R]{base: c.Deps.context(), spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
}

// start cancels any work under way and runs work on its own goroutine:
// what it reports through progress, and the result it returns, arrive
// through update.
func (j *job[P, R]) start(work func(ctx context.Context, progress func(P)) R) tea.Cmd {
	j.stop()
	ctx, cancel := context.WithCancel(j.base)
	cmd, ch := stream(ctx, func(send func(tea.Msg)) {
		r := work(ctx, func(p P) { send(jobProgress[P]{p}) })
		send(jobResult[R]{r})
	})
	j.cancel, j.stream = cancel, ch
	return tea.Batch(cmd, j.spin.Tick)
}

func (j *job[P, R]) running() bool { return j.stream != nil }

// stop cancels the work under way, if any, and forgets it.
func (j *job[P, R]) stop() {
	if j.cancel != nil {
		j.cancel()
	}
	j.cancel, j.stream = nil, nil
}

// update takes a message of the job's: progress from the current work
// goes to progress, and the command returned waits for the next one;
// the result goes to done once the job has stopped, and done's command
// is returned; the spinner's ticks move it while the work runs. ok is
// false for any other message, including one from work that was
// stopped: the step drops those (see stale).
func (j *job[P, R]) update(msg tea.Msg, progress func(P), done func(R) tea.Cmd) (cmd tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		if msg.ID != j.spin.ID() {
			return nil, false
		}
		if !j.running() {
			return nil, true // the work ended: the spinner stops
		}
		j.spin, cmd = j.spin.Update(msg)
		return cmd, true
	case streamMsg:
		if j.stream == nil || msg.ch != j.stream {
			return nil, false
		}
		switch m := msg.msg.(type) {
		case jobProgress[P]:
			if progress != nil {
				progress(m.v)
			}
		case jobResult[R]:
			j.stop()
			if done == nil {
				return nil, true
			}
			return done(m.v), true
		}
		return listen(msg.ch), true
	}
	return nil, false
}

// stale reports whether msg comes from background work that was stopped
// (or a spinner that stopped with it): no job of the step's claimed it,
// and nothing else may take it.
func stale(msg tea.Msg) bool {
	switch msg.(type) {
	case streamMsg, spinner.TickMsg:
		return true
	}
	return false
}
