package main

import (
	"bytes"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
)

// TestFirstFrameBench is `make bench-startup`: the time from exec to the
// first frame, in a pseudo-terminal of 80x24, of `rekwiz demo` and of
// `rekwiz --domain …` (no demo), each against a bare bubbletea v2
// program (testdata/baretea), run in turn (A B A B …) so that the
// machine's drift falls on both; it prints both medians, their ranges
// and the ratio of the medians. HOME and the config directory are fresh,
// so no registry or saved progress is read. It runs only when
// REKWIZ_BENCH_STARTUP is set (REKWIZ_BENCH_RUNS runs of each, 21 by
// default): a speed target is a benchmark, not a test. REKWIZ_BENCH_BIN
// measures that rekwiz binary instead of building this one (an older
// build, for a before and after).
func TestFirstFrameBench(t *testing.T) {
	if os.Getenv("REKWIZ_BENCH_STARTUP") == "" {
		t.Skip("set REKWIZ_BENCH_STARTUP=1 (make bench-startup)")
	}
	runs := 21
	if n, err := strconv.Atoi(os.Getenv("REKWIZ_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	dir := t.TempDir()
	rekwiz, bare := filepath.Join(dir, "rekwiz"), filepath.Join(dir, "baretea")
	builds := [][2]string{{rekwiz, "."}, {bare, "../../testdata/baretea"}}
	if bin := os.Getenv("REKWIZ_BENCH_BIN"); bin != "" {
		rekwiz, builds = bin, builds[1:]
	}
	for _, b := range builds {
		if out, err := osexec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	home := t.TempDir()
	env := append(os.Environ(), "TERM=xterm-256color", "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	floor := frameCmd{args: []string{bare}, marker: "Domain ID"}
	for _, a := range []frameCmd{
		{args: []string{rekwiz, "demo"}, marker: "Which domain is the key for?"},
		{args: []string{rekwiz, "--domain", "dm-LCAJVnUE94B"}, marker: "Where will the key live?"},
	} {
		var msA, msB []float64
		for i := 0; i <= runs; i++ { // the first of each is a warm-up
			for _, c := range []struct {
				cmd frameCmd
				ms  *[]float64
			}{{a, &msA}, {floor, &msB}} {
				d, err := firstFrame(c.cmd, env, 80, 24, 20*time.Second)
				if err != nil {
					t.Fatalf("%s: %v", strings.Join(c.cmd.args[1:], " "), err)
				}
				if i > 0 {
					*c.ms = append(*c.ms, float64(d.Microseconds())/1000)
				}
			}
		}
		medA, medB := median(msA), median(msB)
		fmt.Printf("rekwiz %-28s first frame ms: median %6.1f  range %6.1f–%6.1f  (n=%d)\n", strings.Join(a.args[1:], " "), medA, slices.Min(msA), slices.Max(msA), len(msA))
		fmt.Printf("bare bubbletea v2 %-17s first frame ms: median %6.1f  range %6.1f–%6.1f  (n=%d)\n", "", medB, slices.Min(msB), slices.Max(msB), len(msB))
		fmt.Printf("ratio of medians: %.2f (target ≤ 1.3)\n\n", medA/medB)
	}
}

// frameCmd is a command and the text its first frame shows.
type frameCmd struct {
	args   []string
	marker string
}

// firstFrame starts c in a pseudo-terminal of cols x rows and returns
// the time until its output shows the marker; then it presses ctrl+c
// and waits for the command to end.
func firstFrame(c frameCmd, env []string, cols, rows int, limit time.Duration) (time.Duration, error) {
	cmd := osexec.Command(c.args[0], c.args[1:]...)
	cmd.Env = env
	start := time.Now()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		return 0, err
	}
	defer f.Close()
	found := make(chan time.Duration, 1)
	go func() {
		var out bytes.Buffer
		buf := make([]byte, 4096)
		seen := false
		for {
			n, err := f.Read(buf)
			if n > 0 && !seen {
				out.Write(buf[:n])
				if strings.Contains(ansi.Strip(out.String()), c.marker) {
					seen = true
					found <- time.Since(start)
				}
			}
			if err != nil {
				return // drained to the end, so the command never blocks writing
			}
		}
	}()
	var d time.Duration
	select {
	case d = <-found:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, fmt.Errorf("no frame showing %q within %s", c.marker, limit)
	}
	_, _ = f.Write([]byte{3}) // ctrl+c
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return d, nil
}

func median(ms []float64) float64 {
	s := slices.Clone(ms)
	slices.Sort(s)
	return s[len(s)/2]
}
