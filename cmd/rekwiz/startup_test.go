package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui"
)

// Package initialisation: what every start pays before main runs.
//
// The AWS SDK alone allocates about 1.0 MB at init (kms/schemas 340 KB,
// and each service's endpoints table 60-90 KB: kms, iam, sts, sso,
// ssooidc, signin), which rekwiz cannot change; everything else, rekwiz's
// own packages included, about 250 KB, and sprig, which the scripts'
// templates render with (the project's choice of template functions),
// another 250 KB through semver's expressions. Before start-up was tuned
// the total was 3.6 MB (regular expressions with counted repeats and the
// script templates, compiled at init), enough to run two garbage
// collections before the first frame. The limits hold what is left: 1 MB
// in all is out of reach while the AWS SDK is linked.
const (
	initAllocLimit    = 1536 << 10 // all packages
	ownInitAllocLimit = 48 << 10   // rekwiz's own packages: four providers' tables
)

var initLine = regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, [0-9.]+ ms clock, ([0-9]+) bytes, [0-9]+ allocs$`)

// TestInitAllocations runs the built binary with GODEBUG=inittrace=1 and
// sums the bytes each package's initialisation allocates.
func TestInitAllocations(t *testing.T) {
	bin := buildRekwiz(t)
	cmd := osexec.Command(bin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("rekwiz --version: %v\n%s", err, stderr.Bytes())
	}
	type pkg struct {
		name  string
		bytes int
	}
	var pkgs []pkg
	total, own := 0, 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		m := initLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, pkg{m[1], n})
		total += n
		if strings.HasPrefix(m[1], "github.com/rekwiz/rekwiz/") {
			own += n
		}
	}
	if len(pkgs) < 50 {
		t.Fatalf("only %d init lines in the trace; is GODEBUG=inittrace=1 honoured?\n%s", len(pkgs), stderr.String())
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].bytes > pkgs[j].bytes })
	var top strings.Builder
	for _, p := range pkgs[:min(12, len(pkgs))] {
		fmt.Fprintf(&top, "\n  %8d  %s", p.bytes, p.name)
	}
	t.Logf("package initialisation allocates %d bytes (%d packages; rekwiz's own: %d); the most:%s", total, len(pkgs), own, top.String())
	if total > initAllocLimit {
		t.Errorf("package initialisation allocates %d bytes, over %d: compile expressions and parse templates on first use", total, initAllocLimit)
	}
	if own > ownInitAllocLimit {
		t.Errorf("rekwiz's own packages allocate %d bytes at init, over %d", own, ownInitAllocLimit)
	}
}

// TestWizardReadsAWSAfterTheFirstFrame: the terminal wizard draws its
// first screen before it reads the AWS configuration (which parses a
// whole CA bundle when AWS_CA_BUNDLE is set); a configuration that does
// not load still ends the wizard with its error, and one that loads
// gives its region to the key details.
func TestWizardReadsAWSAfterTheFirstFrame(t *testing.T) {
	t.Parallel()
	for _, fail := range []bool{true, false} {
		d := isolatedDeps(t)
		var loads atomic.Int32
		d.LoadAWS = func(context.Context) (aws.Config, error) {
			loads.Add(1)
			time.Sleep(200 * time.Millisecond)
			if fail {
				return aws.Config{}, errors.New("profile nope not found")
			}
			return aws.Config{Region: "eu-west-2"}, nil
		}
		ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Terminal: true, Getenv: func(string) string { return "" }}
		w, err := newWizard(context.Background(), &wizardOptions{IO: ios, Global: &globalOptions{}, Deps: d, deferKits: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := loads.Load(); n != 0 || w.deps.Later == nil {
			t.Fatalf("the AWS configuration was read %d times before the first frame", n)
		}
		for _, p := range flows.Providers() {
			if w.deps.Pairing[p] == nil {
				t.Errorf("%s: no check offered on the first screen", p)
			}
		}
		run := &demoRun{t: t, w: w}
		run.tm = teatest.NewTestModel(t, observed{Model: ui.New(w.flow, w.deps), mu: &run.mu, last: &run.screen},
			teatest.WithInitialTermSize(80, 24), teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
		if !fail {
			// typed before the configuration is read: the keys wait
			// for it
			run.tm.Type("dm-LCAJVnUE94B")
			run.tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
			for _, want := range []string{"Where will the key live?", "Which key?", "eu-west-2"} {
				run.waitFor(want)
				if n := loads.Load(); n != 1 {
					t.Fatalf("at %q, the AWS configuration was read %d times", want, n)
				}
				run.tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
			}
			_ = run.tm.Quit()
		}
		m := run.tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(observed).Model.(*ui.Model)
		w.close()
		if n := loads.Load(); n != 1 {
			t.Errorf("the AWS configuration was read %d times", n)
		}
		if fail && (m.Err() == nil || !strings.Contains(m.Err().Error(), "reading your AWS configuration: profile nope not found")) {
			t.Errorf("a configuration that does not load: the wizard ended with %v", m.Err())
		}
		if !fail && m.Err() != nil {
			t.Errorf("Err: %v", m.Err())
		}
	}
}
