package flows

import (
	"errors"
	"regexp"
	"strings"
)

// ErrSecretInField is a non-secret field given a secret: the value is
// refused, not kept, and the error does not repeat it.
var ErrSecretInField = errors.New("this holds a secret access key, which goes only in the masked Secret access key field; it was not kept here")

var (
	// secretLabelRE is a line that labels the secret, as the script
	// prints it ("Secret access key (save this for next step): …") or as
	// the AWS CLI's files and environment do (aws_secret_access_key = …,
	// AWS_SECRET_ACCESS_KEY=…).
	secretLabelRE = regexp.MustCompile(`(?i)secret[ _-]?access[ _-]?key\s*(\([^)]*\))?\s*[:=]`)
	// secretValueRE is a whole value shaped like an AWS secret access key.
	secretValueRE = regexp.MustCompile(`^[A-Za-z0-9/+=]{40}$`)
)

// ContainsSecret reports whether text meant for a field that is not
// secret carries a secret access key: a line labelled as one, or a line
// (or a line's labelled value) that is 40 characters of a secret's
// alphabet. No value any other field takes has that shape.
func ContainsSecret(raw string) bool {
	if secretLabelRE.MatchString(raw) {
		return true
	}
	for _, line := range strings.FieldsFunc(raw, func(r rune) bool { return r == '\n' || r == '\r' }) {
		l := strings.TrimSpace(line)
		if secretValueRE.MatchString(l) {
			return true
		}
		if _, v, ok := strings.Cut(l, ": "); ok && secretValueRE.MatchString(strings.TrimSpace(v)) {
			return true
		}
	}
	return false
}
