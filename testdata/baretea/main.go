// Command baretea is the floor for a Charm v2 program's first frame: a
// bubbletea v2 program that draws one styled line and quits on ctrl+c.
// `make bench-startup` measures rekwiz's first frame against it.
package main

import (
	"fmt"
	"os"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

type model struct{}

func (model) Init() tea.Cmd { return nil }

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "ctrl+c" {
		return m, tea.Quit
	}
	return m, nil
}

func (model) View() tea.View {
	return tea.NewView(lipgloss.NewStyle().Bold(true).Render("Domain ID: dm-") + "\n")
}

func main() {
	if _, err := tea.NewProgram(model{}).Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
