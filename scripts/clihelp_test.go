package scripts

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// A CLI's help texts, read once per test process: reading one means
// starting the CLI (Python for az and gcloud, a second or more each), and
// several tests ask for the same commands. Entries are keyed by the CLI,
// its version and the command, so a CLI upgraded between runs is read
// again; the cache knows nothing of any one CLI.
var (
	helpMu    sync.Mutex
	helpTexts = map[string]*helpEntry{}
)

type helpEntry struct {
	done chan struct{}
	text string
	err  error
}

// cachedHelp returns the help text of each command of cli (at version),
// reading the ones no test has read yet with read, in one call: read gets
// the commands and returns their texts in the same order. Concurrent
// callers wait for a read in flight instead of starting their own.
func cachedHelp(cli, version string, commands []string, read func([]string) ([]string, error)) (map[string]string, error) {
	key := func(c string) string { return cli + "\x00" + version + "\x00" + c }
	helpMu.Lock()
	var missing []string
	var mine []*helpEntry
	entries := make(map[string]*helpEntry, len(commands))
	for _, c := range commands {
		e, ok := helpTexts[key(c)]
		if !ok {
			e = &helpEntry{done: make(chan struct{})}
			helpTexts[key(c)] = e
			missing = append(missing, c)
			mine = append(mine, e)
		}
		entries[c] = e
	}
	helpMu.Unlock()

	if len(missing) > 0 {
		texts, err := read(missing)
		for i, e := range mine {
			switch {
			case err != nil:
				e.err = err
			case i < len(texts):
				e.text = texts[i]
			}
			close(e.done)
		}
		if err != nil { // a failed read is not cached: the next test tries again
			helpMu.Lock()
			for _, c := range missing {
				delete(helpTexts, key(c))
			}
			helpMu.Unlock()
		}
	}
	out := make(map[string]string, len(commands))
	for c, e := range entries {
		<-e.done
		if e.err != nil {
			return nil, e.err
		}
		out[c] = e.text
	}
	return out, nil
}

// stripANSI removes the terminal styling (SGR sequences) a CLI's help
// may carry even when it is not written to a terminal.
func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] == ';' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			if j < len(s) {
				i = j // skip the final byte too
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestCachedHelpReadsOnce: a command's help is read once per CLI version,
// however many tests ask, at once or one after another; a failed read is
// tried again.
func TestCachedHelpReadsOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	reads := map[string]int{}
	read := func(cs []string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, c := range cs {
			reads[c]++
			out = append(out, "help of "+c)
		}
		return out, nil
	}
	cli := fmt.Sprintf("fake-%p", &mu) // a CLI of this run only
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := cachedHelp(cli, "1.0", []string{"a b", "c"}, read)
			if err != nil || got["a b"] != "help of a b" || got["c"] != "help of c" {
				t.Errorf("cachedHelp: %v, %v", got, err)
			}
		})
	}
	wg.Wait()
	if _, err := cachedHelp(cli, "2.0", []string{"c"}, read); err != nil {
		t.Fatal(err)
	}
	if reads["a b"] != 1 || reads["c"] != 2 {
		t.Errorf("reads: %v, want a b once and c once per version", reads)
	}
	fails := 0
	failing := func(cs []string) ([]string, error) { fails++; return nil, errors.New("no CLI") }
	for range 2 {
		if _, err := cachedHelp(cli, "3.0", []string{"d"}, failing); err == nil {
			t.Fatal("a failed read returned no error")
		}
	}
	if fails != 2 {
		t.Errorf("a failed read was cached (%d reads)", fails)
	}
}
