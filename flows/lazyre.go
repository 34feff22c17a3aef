package flows

import (
	"regexp"
	"sync"
)

// lazyRE is a regular expression compiled on its first use rather than at
// package initialisation, so start-up does no work a screen has not asked
// for:
//
//	var fooRE = lazyRE(`^foo[0-9]+$`)
//	… fooRE().MatchString(s) …
//
// A counted repeat such as {1,512} expands into that many copies of its
// operand when compiled (0.9 ms and 600 KB for one); where the bound is
// large, match with + and check the length with [boundedMatch] instead.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// boundedMatch reports whether re matches s and s is at most max bytes:
// the cheap form of a pattern that would otherwise end in {1,max}.
func boundedMatch(re func() *regexp.Regexp, s string, max int) bool {
	return len(s) <= max && re().MatchString(s)
}
