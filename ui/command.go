package ui

import (
	"strings"
)

// commandLines lays a shell command out in lines no wider than width
// that copy back as the same command: lines break only between
// arguments (an option stays with its value when the two fit), and every
// line but the last ends in " \". An argument wider than a line (a long
// ARN at 50 columns) is never broken: it is shown shortened in the
// middle, and the second result says so (c copies it whole).
func commandLines(cmd string, width int) ([]string, bool) {
	const indent = "  "
	var groups []string
	toks := shellFields(cmd)
	for i := 0; i < len(toks); i++ {
		g := toks[i]
		if strings.HasPrefix(g, "-") && i+1 < len(toks) && !strings.HasPrefix(toks[i+1], "-") {
			if pair := g + " " + toks[i+1]; blockWidth(indent+pair+" \\") <= width {
				g = pair
				i++
			}
		}
		groups = append(groups, g)
	}
	var lines []string
	shortened := false
	line := ""
	for i, g := range groups {
		// An argument too wide for an indented line takes a whole line.
		room := width
		if i < len(groups)-1 {
			room -= 2 // " \"
		}
		lead := indent
		if blockWidth(g) > room-len(indent) {
			lead = ""
		}
		if blockWidth(g) > room {
			g, shortened = middle(g, room), true
		}
		if len(lines) == 0 && line == "" {
			lead = ""
		}
		switch {
		case line == "":
			line = lead + g
		case blockWidth(line+" "+g) <= room:
			line += " " + g
		default:
			lines = append(lines, line+" \\")
			line = lead + g
		}
	}
	return append(lines, line), shortened
}

// middle shortens s to w columns by cutting its middle.
func middle(s string, w int) string {
	r := []rune(s)
	if len(r) <= w || w < 3 {
		return s
	}
	head := (w - 1) / 2
	return string(r[:head]) + "…" + string(r[len(r)-(w-1-head):])
}

// shellFields splits a command into its arguments, keeping quoted ones
// whole.
func shellFields(cmd string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	for _, r := range cmd {
		switch {
		case quote != 0:
			cur.WriteRune(r)
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
			cur.WriteRune(r)
		case r == ' ' || r == '\t' || r == '\n':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// remedyCommand finds the command in a check's remedy ("run … then …",
// "aws kms enable-key … (the setup script does it)"): the text before
// it, the command, and the text after it. ok is false when the remedy
// names no command.
func remedyCommand(remedy string) (before, cmd, after string, ok bool) {
	start := -1
	for _, prog := range []string{"aws ", "az ", "rekwiz ", "gcloud "} {
		for i := 0; i+len(prog) <= len(remedy); {
			j := strings.Index(remedy[i:], prog)
			if j < 0 {
				break
			}
			at := i + j
			if at == 0 || strings.HasSuffix(remedy[:at], ": ") || strings.HasSuffix(remedy[:at], "(") || strings.HasSuffix(remedy[:at], "with ") {
				if start < 0 || at < start {
					start = at
				}
				break
			}
			i = at + 1
		}
	}
	if start < 0 {
		return "", "", "", false
	}
	rest := remedy[start:]
	end := len(rest)
	// The command ends where the prose resumes, outside quotes.
	var quote rune
	for i, r := range rest {
		if quote != 0 {
			if r == quote {
				quote = 0
			}
			continue
		}
		if r == '"' || r == '\'' {
			quote = r
			continue
		}
		for _, stop := range []string{" (", ", then", ", or ", " on each", "; ", ")"} {
			if strings.HasPrefix(rest[i:], stop) {
				end = i
				break
			}
		}
		if end != len(rest) {
			break
		}
	}
	return strings.TrimSpace(remedy[:start]), strings.TrimSpace(rest[:end]), strings.TrimSpace(rest[end:]), true
}

// command shows a command as lines that copy as one command, indented
// by two, saying when an argument had to be shortened to fit (and where
// the whole command is: why).
func (c *Common) command(cmd, why string) string {
	lines, short := commandLines(cmd, c.Width-2)
	for i, l := range lines {
		lines[i] = "  " + c.Styles.Value.Render(l)
	}
	if short {
		lines = append(lines, c.wrapIndented("(shortened to fit the screen: "+why+")", 2, c.Styles.Muted))
	}
	return strings.Join(lines, "\n")
}
