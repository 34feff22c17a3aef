package fakecloud

import (
	"regexp"
	"sync"
)

// lazyRE compiles expr on its first use, not at start-up (the sandbox is
// linked into rekwiz, whose start-up does no work it does not need).
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
