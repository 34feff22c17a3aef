package main

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui"
)

func autoplayOptions(t *testing.T, presets map[flows.Field]string) *wizardOptions {
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Terminal: true, Getenv: func(string) string { return "" }}
	return &wizardOptions{IO: ios, Global: &globalOptions{}, Deps: isolatedDeps(t), Demo: true, Seed: demoSeed, Presets: presets}
}

// TestAutoplayPlaysEveryProviderToDone: `rekwiz demo --autoplay`, at no
// delay, in a real program on the demo's sandbox, walks every provider
// the demo has from the first screen to Done (set-up, paste, apply,
// pairing check), and ends.
func TestAutoplayPlaysEveryProviderToDone(t *testing.T) {
	a, closeAll, err := newAutoplay(context.Background(), autoplayOptions(t, nil), ui.Pace{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	tm := teatest.NewTestModel(t, a, teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(60*time.Second)).(*ui.Autoplay)
	if final.Err() != nil {
		t.Fatal(final.Err())
	}
	if want := flows.Providers(); !slices.Equal(final.Reached(), want) {
		t.Errorf("reached Done for %v, want %v; last screen at %s", final.Reached(), want, final.Model().Flow().Step())
	}
	if !final.Finished() || final.Stopped() {
		t.Errorf("finished %v, stopped %v", final.Finished(), final.Stopped())
	}
	if !final.Model().Flow().Paired() {
		t.Error("the last walk's key is not paired")
	}
}

// TestAutoplayOneProvider: --provider plays that provider only.
func TestAutoplayOneProvider(t *testing.T) {
	o := autoplayOptions(t, map[flows.Field]string{flows.FieldProvider: string(flows.AWSServiceAccount)})
	a, closeAll, err := newAutoplay(context.Background(), o, ui.Pace{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	tm := teatest.NewTestModel(t, a, teatest.WithInitialTermSize(100, 30))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(60*time.Second)).(*ui.Autoplay)
	if got := final.Reached(); !slices.Equal(got, []flows.Provider{flows.AWSServiceAccount}) || !final.Finished() {
		t.Errorf("reached %v, finished %v", got, final.Finished())
	}
}

// TestAutoplayRefusesOtherAnswers: the autoplay types its own answers.
func TestAutoplayRefusesOtherAnswers(t *testing.T) {
	code, _, stderr := execWith(t, isolatedDeps(t), true, "demo", "--autoplay", "--domain", "dm-LCAJVnUE94B")
	if code != exitUsage || !strings.Contains(stderr, "--domain: --autoplay types its own answers") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = execWith(t, isolatedDeps(t), true, "demo", "--autoplay", "--provider", "nope")
	if code != exitUsage || !strings.Contains(stderr, "--provider") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = execWith(t, isolatedDeps(t), false, "demo", "--autoplay")
	if code != exitUsage || !strings.Contains(stderr, "needs a terminal") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestAutoplayCommandStopsOnQ: `rekwiz demo --autoplay`, as main runs
// it, at the human pace: q stops it at once, the screen is handed back
// (the alternate screen left, the cursor shown) and it exits 0; ctrl+c
// exits 130.
func TestAutoplayCommandStopsOnQ(t *testing.T) {
	for _, c := range []struct {
		key  string
		code int
		says string
	}{{"q", exitOK, "rekwiz: autoplay stopped."}, {"\x03", exitInterrupted, "rekwiz: autoplay stopped (ctrl+c)."}} {
		in, typed := io.Pipe()
		var out, errOut strings.Builder
		ios := &IOStreams{In: in, Out: &out, Err: &errOut, Terminal: true, Getenv: func(string) string { return "" }}
		go func() {
			time.Sleep(500 * time.Millisecond)
			_, _ = typed.Write([]byte(c.key))
		}()
		done := make(chan int, 1)
		go func() { done <- run(context.Background(), ios, isolatedDeps(t), []string{"demo", "--autoplay"}) }()
		select {
		case code := <-done:
			if code != c.code || !strings.Contains(errOut.String(), c.says) {
				t.Errorf("%q: exit %d, stderr %q", c.key, code, errOut.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%q did not stop the autoplay", c.key)
		}
		_ = typed.Close()
		if s := out.String(); !strings.Contains(s, "\x1b[?1049l") || !strings.Contains(s, "\x1b[?25h") {
			t.Errorf("%q: the terminal was not handed back (alternate screen left, cursor shown)", c.key)
		}
	}
}
