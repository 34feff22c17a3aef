package ui

import (
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// memProgress is saved progress in memory.
type memProgress struct {
	mu      sync.Mutex
	saved   map[string]flows.Snapshot
	deleted []string
}

func (p *memProgress) Save(s flows.Snapshot) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.saved[s.Domain] = s
	return nil
}

func (p *memProgress) Delete(d string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.saved, d)
	p.deleted = append(p.deleted, d)
	return nil
}

var resumeNow = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func savedDomains() []flows.Snapshot {
	return []flows.Snapshot{
		{Domain: "dm-BBBBBBBBBBB", Step: flows.StepApply, Saved: resumeNow.Add(-5 * time.Minute), Values: map[flows.Field]string{
			"domain": "dm-BBBBBBBBBBB", "provider": "aws-service-account", "key": "new", "region": "us-east-1", "company": "Example",
			"key-arn": "arn:aws:kms:us-east-1:111122223333:alias/dm-BBBBBBBBBBB/acme/Example", "access-key-id": "AKIAIOSFODNN7EXAMPLE"}},
		{Domain: "dm-AAAAAAAAAAA", Step: flows.StepScript, Saved: resumeNow.Add(-3 * time.Hour), Values: map[flows.Field]string{
			"domain": "dm-AAAAAAAAAAA", "provider": "aws-delegated", "key": "new", "region": "us-east-1"}},
	}
}

func resumeDeps(t testing.TB, saved []flows.Snapshot) (Deps, *memProgress) {
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.Pairing[flows.AWSServiceAccount] = deps.Pairing[flows.AWSDelegated]
	p := &memProgress{saved: map[string]flows.Snapshot{}}
	for _, s := range saved {
		p.saved[s.Domain] = s
	}
	deps.Progress, deps.Saved, deps.Now = p, saved, func() time.Time { return resumeNow }
	return deps, p
}

// TestResumeOffersEveryDomain: every unfinished domain is offered with
// its step and when; the secret that resuming asks again is said; the
// one chosen is resumed.
func TestResumeOffersEveryDomain(t *testing.T) {
	t.Parallel()
	deps, _ := resumeDeps(t, savedDomains())
	for _, size := range [][2]int{{50, 16}, {80, 24}} {
		d := newDriver(t, newFlow(t, nil), deps, size[0], size[1])
		d.wantScreen("2 domains were left part-way", "dm-BBBBBBBBBBB: resume at Apply", "AWS KMS, service account · saved 5 minutes ago",
			"The secret access key is never saved: the paste step asks for it again first.")
		screenFits(t, d, size[0], size[1])
		d.golden("resume-" + map[int]string{50: "50x16", 80: "80x24"}[size[0]])
		d.key("down")
		d.wantScreen("dm-AAAAAAAAAAA: resume at Script", "AWS KMS, delegated key · saved 3 hours ago", "Start over")
		d.key("enter")
		d.wantStep(flows.StepScript)
		if got := d.m.Flow().Value(flows.FieldDomain); got != "dm-AAAAAAAAAAA" {
			t.Fatalf("resumed %s", got)
		}
	}
	// The service account resumes at the paste step, for its secret.
	d := newDriver(t, newFlow(t, nil), deps, 80, 24)
	d.key("enter")
	d.wantStep(flows.StepPaste)
}

// TestStartingOverAsksBeforeDiscarding: starting over, then typing a
// domain with saved progress, asks first; n keeps it, r resumes it, y
// discards it and goes on.
func TestStartingOverAsksBeforeDiscarding(t *testing.T) {
	t.Parallel()
	deps, p := resumeDeps(t, savedDomains())
	d := newDriver(t, newFlow(t, nil), deps, 80, 24)
	d.key("down", "down", "enter") // start over
	d.wantStep(flows.StepDomain)
	d.typ("dm-AAAAAAAAAAA")
	d.key("enter")
	d.wantScreen("Start dm-AAAAAAAAAAA over?", "Progress for dm-AAAAAAAAAAA was saved 3 hours ago, at Script. Starting over discards it.",
		"y: discard it and start over", "r: resume it at Script")
	d.key("n")
	d.wantStep(flows.StepDomain)
	if _, ok := p.saved["dm-AAAAAAAAAAA"]; !ok {
		t.Fatal("no discarded the progress")
	}
	d.key("enter", "r")
	d.wantStep(flows.StepScript)

	d = newDriver(t, newFlow(t, nil), deps, 80, 24)
	d.key("down", "down", "enter")
	d.typ("dm-AAAAAAAAAAA")
	d.key("enter", "y")
	d.wantStep(flows.StepProvider)
	if s := p.saved["dm-AAAAAAAAAAA"]; s.Step != flows.StepProvider {
		t.Fatalf("saved progress after starting over: %+v", s)
	}

	// A domain with nothing saved goes on at once.
	d = newDriver(t, newFlow(t, nil), deps, 80, 24)
	d.key("down", "down", "enter")
	d.typ("dm-CCCCCCCCCCC")
	d.key("enter")
	d.wantStep(flows.StepProvider)
}

// TestStartingOverAGivenDomainAsks: with the domain given on the command
// line, "Start over" asks, and y deletes the saved progress.
func TestStartingOverAGivenDomainAsks(t *testing.T) {
	t.Parallel()
	saved := savedDomains()[1:]
	deps, p := resumeDeps(t, saved)
	d := newDriver(t, newFlow(t, map[flows.Field]string{"domain": "dm-AAAAAAAAAAA"}), deps, 80, 24)
	d.wantScreen("You were setting up dm-AAAAAAAAAAA (AWS KMS, delegated key) and reached Script, 3 hours ago.")
	d.key("down", "enter")
	d.wantScreen("Start dm-AAAAAAAAAAA over?")
	d.key("y")
	d.wantStep(flows.StepProvider)
	if len(p.deleted) != 1 || p.deleted[0] != "dm-AAAAAAAAAAA" {
		t.Fatalf("deleted %v", p.deleted)
	}
}

// TestResumeScreenIsAComponent: the resume screen works on its own, as a
// step does: keys move its cursor and say what was chosen as a message to
// the root, which does the rest.
func TestResumeScreenIsAComponent(t *testing.T) {
	t.Parallel()
	deps, _ := resumeDeps(t, savedDomains())
	c := &Common{Styles: newStyles(true), Keys: newKeyMap(), Deps: deps, Width: 78, Height: 19}
	var r component = newResumeOffer(c, deps.Saved)
	r.Enter(newFlow(t, nil))
	choose := func(keys ...string) tea.Msg {
		t.Helper()
		var cmd tea.Cmd
		for _, k := range keys {
			r, cmd = r.Update(keyPress(k))
		}
		if cmd == nil {
			t.Fatalf("%v chose nothing:\n%s", keys, r.View())
		}
		return cmd()
	}
	if m, ok := choose("down", "enter").(resumeMsg); !ok || m.snap.Domain != "dm-AAAAAAAAAAA" {
		t.Fatalf("down, enter chose %#v", m)
	}
	if m, ok := choose("down", "enter").(startOverMsg); !ok || m.discard != "" || m.submit != nil {
		t.Fatalf("start over chose %#v", m)
	}

	// Asked before the domain step's answer starts a saved domain over.
	submit := submitMsg{values: map[flows.Field]string{flows.FieldDomain: "dm-AAAAAAAAAAA"}}
	r = newDiscardAsk(c, deps.Saved[1], submit)
	if !strings.Contains(r.View(), "Start dm-AAAAAAAAAAA over?") {
		t.Fatalf("the question:\n%s", r.View())
	}
	if m, ok := choose("y").(startOverMsg); !ok || m.discard != "dm-AAAAAAAAAAA" || m.submit == nil {
		t.Fatalf("y chose %#v", m)
	}
	if _, ok := choose("n").(resumeClosedMsg); !ok {
		t.Fatal("n did not close the question")
	}
}
