package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	osexec "os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Package initialisation: what every start pays before main runs.
//
// The AWS SDK alone allocates about 1.0 MB at init (kms/schemas 340 KB,
// and each service's endpoints table 60-90 KB: kms, iam, sts, sso,
// ssooidc, signin), which rekwiz cannot change; everything else, rekwiz's
// own packages included, about 250 KB. Before start-up was tuned the
// total was 3.6 MB (regular expressions with counted repeats and the
// script templates, compiled at init, and sprig's dependencies), enough
// to run two garbage collections before the first frame.
const (
	initAllocLimit    = 1280 << 10 // all packages
	ownInitAllocLimit = 32 << 10   // rekwiz's own packages
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
