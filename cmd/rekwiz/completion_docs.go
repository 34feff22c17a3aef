//go:build gendocs

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra/doc"
)

// writeDocs writes the man pages (dir/man/man1/rekwiz*.1) and the shell
// completions (dir/completions) generated from the command tree, as make
// man and make dist ship them (go run -tags gendocs ./cmd/rekwiz, see
// completion_gen.go). The pages' date is the build's commit date, so the
// same commit gives the same pages.
func writeDocs(dir string) error {
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }}
	root := newRootCmd(ios, realDeps())
	root.InitDefaultCompletionCmd()
	root.DisableAutoGenTag = true
	v := currentVersion()
	when := time.Now().UTC()
	if t, err := time.Parse(time.RFC3339, v.Date); err == nil {
		when = t
	}
	man := filepath.Join(dir, "man", "man1")
	if err := os.MkdirAll(man, 0o755); err != nil {
		return err
	}
	header := &doc.GenManHeader{Section: "1", Date: &when, Source: "rekwiz " + v.Version, Manual: "rekwiz manual"}
	if err := doc.GenManTree(root, header, man); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	comp := filepath.Join(dir, "completions")
	if err := os.MkdirAll(comp, 0o755); err != nil {
		return err
	}
	for shell, name := range completionFiles {
		f, err := os.Create(filepath.Join(comp, name))
		if err != nil {
			return err
		}
		switch shell {
		case "bash":
			err = root.GenBashCompletionV2(f, true)
		case "zsh":
			err = root.GenZshCompletion(f)
		case "fish":
			err = root.GenFishCompletion(f, true)
		case "powershell":
			err = root.GenPowerShellCompletionWithDesc(f)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s completion: %w", shell, err)
		}
	}
	return nil
}
