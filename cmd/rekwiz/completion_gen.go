//go:build gendocs

package main

import (
	"fmt"
	"os"
)

// With the gendocs build tag (make man, make dist), rekwiz writes its man
// pages and shell completions instead of running:
//
//	go run -tags gendocs ./cmd/rekwiz DIR
//
// The released binary is built without the tag and carries none of this.
func init() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run -tags gendocs ./cmd/rekwiz DIR")
		os.Exit(exitUsage)
	}
	if err := writeDocs(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "rekwiz gendocs:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
