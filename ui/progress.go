package ui

import (
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// progressLog orders the background writes of progress: one at a time,
// and none after the finished flow's progress was dropped (a save still
// on its way when the customer finishes must not bring it back).
type progressLog struct {
	mu      sync.Mutex
	dropped map[string]bool
	pending sync.WaitGroup // writes asked for and not done: quitting waits for them
}

// flush waits for the writes under way, so that quitting never loses the
// last step's progress.
// A write that hangs (a stuck network home directory) holds quitting two
// seconds at most.
func (l *progressLog) flush() tea.Msg {
	done := make(chan struct{})
	go func() { l.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	return nil
}

// save keeps the flow's progress, in the background.
func (m *Model) save() tea.Cmd {
	p, log := m.c.Deps.Progress, m.progress
	if p == nil {
		return nil
	}
	snap, ok := m.flow.Snapshot(m.c.Deps.Now())
	if !ok {
		return nil
	}
	log.pending.Add(1)
	return func() tea.Msg {
		log.mu.Lock()
		defer log.mu.Unlock()
		defer log.pending.Done()
		if !log.dropped[snap.Domain] {
			_ = p.Save(snap)
		}
		return nil
	}
}

// forget drops the saved progress of a finished flow.
func (m *Model) forget() tea.Cmd {
	p, log, domain := m.c.Deps.Progress, m.progress, m.flow.Value(flows.FieldDomain)
	if p == nil || domain == "" {
		return nil
	}
	log.pending.Add(1)
	return func() tea.Msg {
		log.mu.Lock()
		defer log.mu.Unlock()
		defer log.pending.Done()
		log.dropped[domain] = true
		_ = p.Delete(domain)
		return nil
	}
}

// Progress keeps a flow's progress per domain, so a wizard left part-way
// (a cloud shell that timed out) can resume. Secrets are never given to
// it.
type Progress interface {
	Save(flows.Snapshot) error
	Delete(domain string) error
}

// savedFor is the saved progress of a domain not yet discarded.
func (c *Common) savedFor(domain string) (flows.Snapshot, bool) {
	for _, s := range c.Deps.Saved {
		if s.Domain == strings.TrimSpace(domain) {
			return s, true
		}
	}
	return flows.Snapshot{}, false
}

// dropSaved forgets a domain's saved progress: it was resumed, or
// discarded.
func (c *Common) dropSaved(domain string) {
	var keep []flows.Snapshot
	for _, s := range c.Deps.Saved {
		if s.Domain != domain {
			keep = append(keep, s)
		}
	}
	c.Deps.Saved = keep
}

// deleteProgress drops a domain's saved progress the customer chose to
// discard.
func (c *Common) deleteProgress(domain string) tea.Cmd {
	p := c.Deps.Progress
	if p == nil {
		return nil
	}
	return func() tea.Msg { _ = p.Delete(domain); return nil }
}
