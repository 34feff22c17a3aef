package ui

import (
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/providers/fsutil"
	"github.com/rekwiz/rekwiz/scripts"
)

// savedMsg says how saving the script went.
type savedMsg struct {
	path   string
	exists bool // not written: the file is there and may not be replaced
	err    error
}

// startSave asks where to save the script, offering its usual name.
func (s *scriptStep) startSave() tea.Cmd {
	s.mode = scriptNaming
	s.status = ""
	s.name.SetValue(scripts.FileName(s.spec, scripts.Options{}))
	s.name.CursorEnd()
	return s.name.Focus()
}

// saveKey answers the save dialog: the name typed, then whether to
// replace a file that is there.
func (s *scriptStep) saveKey(msg tea.KeyPressMsg) tea.Cmd {
	k := s.keys
	if s.mode == scriptOverwrite {
		switch {
		case key.Matches(msg, k.Replace):
			return s.save(true)
		case key.Matches(msg, k.Keep):
			s.mode = scriptNaming
			s.status = ""
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Cancel):
		s.mode = scriptViewing
		return nil
	case key.Matches(msg, k.SaveAs):
		return s.save(false)
	}
	var cmd tea.Cmd
	s.name, cmd = s.name.Update(msg)
	return cmd
}

// save writes the script. Without overwrite it never replaces a file:
// the file is created exclusively, and an existing one means asking.
func (s *scriptStep) save(overwrite bool) tea.Cmd {
	path := strings.TrimSpace(s.name.Value())
	if path == "" {
		s.status = "✗ give a file name"
		return nil
	}
	path = fsutil.ExpandPath(path, s.c.Deps.SaveDir)
	content := s.script
	return func() tea.Msg { return writeScript(path, content, overwrite) }
}

func writeScript(path, content string, overwrite bool) savedMsg {
	exists, err := fsutil.WriteExecutable(path, content, overwrite)
	return savedMsg{path: path, exists: exists, err: err}
}

func (s *scriptStep) saved(m savedMsg) tea.Cmd {
	switch {
	case m.exists:
		s.mode = scriptOverwrite
		s.status = m.path + " exists. Replace it?"
	case m.err != nil:
		s.mode = scriptNaming
		s.status = "✗ could not save: " + m.err.Error()
	default:
		s.mode = scriptViewing
		shown := m.path
		if rel, err := filepath.Rel(s.c.Deps.SaveDir, m.path); err == nil && !strings.HasPrefix(rel, "..") {
			shown = rel
		}
		s.status = "✓ Saved to " + shown + ". Run it with: bash " + shown
	}
	return nil
}
