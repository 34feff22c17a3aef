package ui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// Styles are every style the wizard uses, built in one place from whether
// the terminal's background is dark. Colour only ever repeats what a
// symbol and a word already say: NO_COLOR loses nothing.
type Styles struct {
	isDark bool

	App      lipgloss.Style
	Title    lipgloss.Style
	Badge    lipgloss.Style
	Progress lipgloss.Style
	StepName lipgloss.Style
	Rule     lipgloss.Style

	Heading lipgloss.Style
	Text    lipgloss.Style
	Muted   lipgloss.Style
	Label   lipgloss.Style
	// FocusLabel is the focused field's label: underlined as well as
	// coloured, so it stands out with no colour at all.
	FocusLabel lipgloss.Style
	Value      lipgloss.Style
	Error      lipgloss.Style
	Note       lipgloss.Style
	OK         lipgloss.Style

	Selected    lipgloss.Style
	Unselected  lipgloss.Style
	Description lipgloss.Style
	Disabled    lipgloss.Style

	Status map[flows.Status]lipgloss.Style
	Help   help.Styles
}

// newStyles builds the styles for a dark or light background.
func newStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	var (
		accent = ld(lipgloss.Color("#5A3FC0"), lipgloss.Color("#9E8CFF"))
		text   = ld(lipgloss.Color("#1A1A1A"), lipgloss.Color("#E8E8E8"))
		muted  = ld(lipgloss.Color("#6B6B6B"), lipgloss.Color("#8A8A8A"))
		green  = ld(lipgloss.Color("#1E7B34"), lipgloss.Color("#5FD37A"))
		red    = ld(lipgloss.Color("#B3261E"), lipgloss.Color("#FF6B6B"))
		amber  = ld(lipgloss.Color("#8A5A00"), lipgloss.Color("#F0B54A"))
	)
	fg := func(c color.Color) lipgloss.Style { return lipgloss.NewStyle().Foreground(c) }
	s := Styles{
		isDark: isDark,

		App:      lipgloss.NewStyle().Padding(0, 1),
		Title:    fg(accent).Bold(true),
		Badge:    lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1),
		Progress: fg(muted),
		StepName: fg(text).Bold(true),
		Rule:     fg(muted),

		Heading:    fg(text).Bold(true),
		Text:       fg(text),
		Muted:      fg(muted),
		Label:      fg(text).Bold(true),
		FocusLabel: fg(accent).Bold(true).Underline(true),
		Value:      fg(accent),
		Error:      fg(red),
		Note:       fg(amber),
		OK:         fg(green),

		Selected:    fg(accent).Bold(true),
		Unselected:  fg(text),
		Description: fg(muted),
		Disabled:    fg(muted).Faint(true),

		Status: map[flows.Status]lipgloss.Style{
			flows.StatusPending: fg(muted),
			flows.StatusRunning: fg(accent),
			flows.StatusPass:    fg(green).Bold(true),
			flows.StatusWarn:    fg(amber).Bold(true),
			flows.StatusFail:    fg(red).Bold(true),
			flows.StatusSkipped: fg(muted),
		},
		Help: helpStyles(fg(text), fg(muted)),
	}
	return s
}

// helpStyles are the footer's: keys in the text colour, what they do and
// the separators between them muted. The bubbles defaults draw the
// separators in a grey that a 16-colour terminal rounds to its own
// background (black on dark, white on light), where they vanish.
func helpStyles(key, muted lipgloss.Style) help.Styles {
	return help.Styles{
		ShortKey: key, ShortDesc: muted, ShortSeparator: muted, Ellipsis: muted,
		FullKey: key, FullDesc: muted, FullSeparator: muted,
	}
}

// inputStyles are the text inputs' styles. The cursor does not blink: a
// steady cursor records well and costs no timer.
func inputStyles(isDark bool) textinput.Styles {
	s := textinput.DefaultStyles(isDark)
	s.Cursor.Blink = false
	return s
}
