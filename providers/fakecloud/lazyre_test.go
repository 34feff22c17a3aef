package fakecloud

import (
	"regexp"
	"strings"
	"testing"
)

// TestNameBoundsAgreeWithCountedRepeats checks the names whose length
// bound moved out of the expression against the expressions they replaced.
func TestNameBoundsAgreeWithCountedRepeats(t *testing.T) {
	user := regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	policy := regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	alias := regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)
	for _, n := range []int{0, 1, 63, 64, 65, 127, 128, 129, 249, 250, 251, 1000} {
		for _, s := range []string{strings.Repeat("a", n), strings.Repeat("@", n), strings.Repeat("a", n) + "*", "é" + strings.Repeat("a", n)} {
			if got, want := validName("userName", s) == nil, user.MatchString(s); got != want {
				t.Errorf("validName(%d bytes) = %v, want %v", len(s), got, want)
			}
			// a name validPolicy takes fails on the empty document instead
			if err := validPolicy(s, ""); (err.Code != "ValidationError") != policy.MatchString(s) {
				t.Errorf("validPolicy(%d bytes) = %v, want the name taken: %v", len(s), err, policy.MatchString(s))
			}
			a := "alias/" + s
			if got, want := (*kmsCall)(nil).checkAliasName(a) == nil, alias.MatchString(a); got != want {
				t.Errorf("checkAliasName(%d bytes) = %v, want %v", len(a), got, want)
			}
		}
	}
}
