package ui

import (
	"context"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
)

// job is the background work a step runs (registering, checking, setting
// up): the way to cancel it, the stream its messages arrive on, and the
// spinner shown meanwhile. A step has one job at a time.
type job struct {
	base   context.Context
	spin   spinner.Model
	cancel context.CancelFunc
	stream <-chan tea.Msg
}

// newJob is a step's job; its work is cancelled with the command's
// context as well as by stop.
func newJob(c *Common) job {
	return job{base: c.Deps.context(), spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
}

// start cancels any work under way and runs work on its own goroutine;
// what it sends arrives as streamMsgs that owns accepts.
func (j *job) start(work func(ctx context.Context, send func(tea.Msg))) tea.Cmd {
	j.stop()
	ctx, cancel := context.WithCancel(j.base)
	cmd, ch := stream(ctx, func(send func(tea.Msg)) { work(ctx, send) })
	j.cancel, j.stream = cancel, ch
	return tea.Batch(cmd, j.spin.Tick)
}

func (j *job) running() bool { return j.stream != nil }

// owns reports whether a streamed message comes from the current work,
// not from work that was stopped.
func (j *job) owns(m streamMsg) bool { return j.stream != nil && m.ch == j.stream }

// stop cancels the work under way, if any, and forgets it.
func (j *job) stop() {
	if j.cancel != nil {
		j.cancel()
	}
	j.cancel, j.stream = nil, nil
}

// tick moves the spinner while the work runs, and lets it stop after.
func (j *job) tick(msg spinner.TickMsg) tea.Cmd {
	if !j.running() {
		return nil
	}
	var cmd tea.Cmd
	j.spin, cmd = j.spin.Update(msg)
	return cmd
}
