package flows

import (
	"regexp"
	"strings"
	"testing"
)

// TestBoundedMatchAgreesWithCountedRepeats checks each expression that was
// rewritten from a counted repeat ({1,N}) to + and a length check against
// the expression it replaced, at and around every bound.
func TestBoundedMatchAgreesWithCountedRepeats(t *testing.T) {
	cases := []struct {
		name  string
		old   string
		match func(string) bool
		gen   func(n int) []string // candidates with n characters in the bounded part
	}{
		{
			name:  "key name",
			old:   `^[A-Za-z0-9-]{1,127}$`,
			match: func(s string) bool { return boundedMatch(keyNameRE, s, 127) },
			gen: func(n int) []string {
				return []string{strings.Repeat("a", n), strings.Repeat("-", n), strings.Repeat("a", n) + "_", "é" + strings.Repeat("a", n)}
			},
		},
		{
			name:  "alias name",
			old:   `^alias/[A-Za-z0-9/_-]{1,250}$`,
			match: func(s string) bool { return boundedMatch(aliasNameRE, s, len("alias/")+250) },
			gen: func(n int) []string {
				return []string{"alias/" + strings.Repeat("a", n), "alias/" + strings.Repeat("/_", n/2), "alias/" + strings.Repeat("a", n) + ".", "alias" + strings.Repeat("a", n)}
			},
		},
		{
			name:  "plain",
			old:   `^[A-Za-z0-9:/_.-]{1,300}$`,
			match: func(s string) bool { return boundedMatch(plainRE, s, 300) },
			gen: func(n int) []string {
				return []string{strings.Repeat("a", n), strings.Repeat(":/", n/2), strings.Repeat("a", n) + " ", strings.Repeat("a", n) + "$"}
			},
		},
		{
			name:  "principal ARN",
			old:   `^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:(root|role/[A-Za-z0-9+=,.@_/-]{1,512}|user/[A-Za-z0-9+=,.@_/-]{1,512})$`,
			match: validPrincipalARN,
			gen: func(n int) []string {
				name := strings.Repeat("r", n)
				return []string{
					"arn:aws:iam::111122223333:role/" + name,
					"arn:aws-us-gov:iam::111122223333:user/" + name,
					"arn:aws-cn:iam::111122223333:user/path/" + name,
					"arn:aws:iam::111122223333:group/" + name,
					"arn:aws:iam::11112222333:role/" + name,
					"arn:aws:iam::111122223333:root" + name,
					"arn:aws:iam::111122223333:role/" + name + "*",
				}
			},
		},
	}
	for _, c := range cases {
		old := regexp.MustCompile(c.old)
		for _, n := range []int{0, 1, 2, 3, 126, 127, 128, 249, 250, 251, 299, 300, 301, 506, 507, 511, 512, 513, 2000} {
			for _, s := range c.gen(n) {
				if got, want := c.match(s), old.MatchString(s); got != want {
					t.Errorf("%s: %q (%d bytes): got %v, the counted repeat says %v", c.name, s, len(s), got, want)
				}
			}
		}
	}
}

func TestLazyRECompilesOnce(t *testing.T) {
	re := lazyRE(`^x+$`)
	if first, second := re(), re(); first != second {
		t.Fatal("lazyRE compiled twice")
	}
	if !re().MatchString("xx") || re().MatchString("y") {
		t.Fatal("lazyRE does not match as compiled")
	}
}
