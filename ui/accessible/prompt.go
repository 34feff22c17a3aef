package accessible

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/rekwiz/rekwiz/ui/termtext"
)

// ErrEndOfInput is the end of the input (a pipe that ran out, ctrl+d)
// before the wizard was done.
var ErrEndOfInput = errors.New("end of input")

// errBack is the answer backKey: the step before.
var errBack = errors.New("back")

// backKey is what goes back a step, at any question. No answer rekwiz
// asks for can be "<".
const backKey = "<"

// printer writes lines, one writer at a time (the pairing check reports
// from its own goroutines), every one escaped: no byte a terminal acts
// on (ESC, a control character) ever reaches the output, whatever a
// cloud, a server or a profile put in the text.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

// line writes text and ends the line. Text may hold newlines: each
// becomes a line of its own.
func (p *printer) line(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = io.WriteString(p.w, termtext.Text(text)+"\n")
}

func (p *printer) linef(format string, a ...any) { p.line(fmt.Sprintf(format, a...)) }

// prompt writes a question and leaves the line open for the answer.
func (p *printer) prompt(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = io.WriteString(p.w, termtext.Line(text))
}

// lineReader reads answers a line at a time. A read waits for the line
// or for ctx, whichever comes first (ctrl+c ends any question); one read
// at a time is ever under way, so a secret read from the terminal never
// races a line read.
type lineReader struct {
	r       *bufio.Reader
	pending chan readResult
	// skipLF is set after a line ended in CR: a LF right after it ends
	// nothing (CRLF). Only the one reading goroutine touches it.
	skipLF bool
}

// maxLine bounds what is kept of one line; the rest of a longer line is
// read and dropped (no answer is anywhere near this long, and every
// field's check refuses what is kept).
const maxLine = 64 << 10

// readLine reads one line, ended by LF, CRLF or a lone CR (a web
// terminal's paste, or a pipe from one, ends lines in CR).
func (l *lineReader) readLine() (string, error) {
	var b []byte
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			return string(b), err
		}
		if l.skipLF {
			l.skipLF = false
			if c == '\n' {
				continue
			}
		}
		switch c {
		case '\n':
			return string(b), nil
		case '\r':
			l.skipLF = true
			return string(b), nil
		}
		if len(b) < maxLine {
			b = append(b, c)
		}
	}
}

type readResult struct {
	line string
	err  error
}

func newLineReader(r io.Reader) *lineReader { return &lineReader{r: bufio.NewReader(r)} }

// read returns the next line without its line ending, ErrEndOfInput at
// the end of the input, or ctx's error.
func (l *lineReader) read(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if l.pending == nil {
		ch := make(chan readResult, 1)
		l.pending = ch
		go func() {
			s, err := l.readLine()
			ch <- readResult{s, err}
		}()
	}
	select {
	case r := <-l.pending:
		l.pending = nil
		if r.err != nil && r.line == "" {
			if errors.Is(r.err, io.EOF) {
				return "", ErrEndOfInput
			}
			return "", r.err
		}
		return strings.TrimRight(r.line, "\r\n"), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// ask writes a question and reads the answer, trimmed. backKey answers
// errBack. When the input is not a terminal nothing echoes the answer,
// so the line is ended here: what follows starts a line of its own.
func (w *Wizard) ask(ctx context.Context, question string) (string, error) {
	w.out.prompt(question)
	s, err := w.in.read(ctx)
	if !w.io.Terminal {
		w.out.line("")
	}
	if err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if s == backKey {
		return "", errBack
	}
	return s, nil
}

// askSecret reads a secret: without echo at a terminal, plainly from a
// pipe. It is never written anywhere.
func (w *Wizard) askSecret(ctx context.Context, question string) (string, error) {
	if w.io.ReadSecret == nil {
		return w.ask(ctx, question)
	}
	w.out.prompt(question)
	b, err := w.io.ReadSecret(ctx)
	switch {
	case errors.Is(err, io.EOF):
		return "", ErrEndOfInput
	case err != nil:
		return "", err
	}
	s := strings.TrimSpace(string(b))
	clear(b)
	if s == backKey {
		return "", errBack
	}
	return s, nil
}

// option is one numbered choice.
type option struct {
	title  string
	detail string // said after the title; "" for none
	// unavailable says why it cannot be chosen; "" when it can.
	unavailable string
}

// choose lists the options, numbered from 1, and reads a number; def is
// the option enter alone takes (-1: none). A wrong answer is said on a
// line of its own and the question is asked again. It returns the index
// chosen, or errBack.
func (w *Wizard) choose(ctx context.Context, question string, opts []option, def int) (int, error) {
	w.out.line(question)
	for i, o := range opts {
		l := fmt.Sprintf("  %d. %s", i+1, o.title)
		if o.detail != "" {
			l += ": " + o.detail
		}
		if o.unavailable != "" {
			l += " (not available yet)"
		}
		w.out.line(l)
	}
	prompt := fmt.Sprintf("Enter a number from 1 to %d", len(opts))
	if def >= 0 {
		prompt += fmt.Sprintf(" [%d]", def+1)
	}
	prompt += ": "
	for {
		s, err := w.ask(ctx, prompt)
		if err != nil {
			return 0, err
		}
		i := def
		if s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > len(opts) {
				// The answer is not repeated: a line pasted one prompt
				// too early may be a secret.
				w.out.linef("✗ that is not one of the choices: enter a number from 1 to %d.", len(opts))
				continue
			}
			i = n - 1
		}
		if i < 0 {
			w.out.linef("✗ required: enter a number from 1 to %d.", len(opts))
			continue
		}
		if why := opts[i].unavailable; why != "" {
			w.out.line("✗ " + why)
			continue
		}
		return i, nil
	}
}

// confirm asks a yes-or-no question. There is no default: a question
// worth asking is answered y or n.
func (w *Wizard) confirm(ctx context.Context, question string) (bool, error) {
	for {
		s, err := w.ask(ctx, question+" [y/n]: ")
		if err != nil {
			return false, err
		}
		switch strings.ToLower(s) {
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		w.out.line("✗ answer y or n.")
	}
}
