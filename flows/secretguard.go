package flows

import (
	"errors"
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
	secretLabelRE = lazyRE(`(?i)secret[ _-]?access[ _-]?key\s*(\([^)]*\))?\s*[:=]`)
	// secretValueRE is a whole value shaped like an AWS secret access key.
	secretValueRE = lazyRE(`^[A-Za-z0-9/+=]{40}$`)
)

// ContainsSecret reports whether text carries a secret access key: a
// line labelled as one, or a line (or a line's labelled value) that is 40
// characters of a secret's alphabet. Use ContainsSecretFor for a field:
// some fields legitimately take values of that bare shape.
func ContainsSecret(raw string) bool {
	return containsSecret(raw, secretValueRE().MatchString)
}

// ContainsSecretFor reports whether text meant for field f carries a
// secret access key. A labelled secret line counts for every field; the
// bare 40-character shape counts only where no valid value has it. An
// key name or a Cloud KMS key ring may be 40 letters and digits (but never
// has '/', '+' or '='). A secret field takes secrets: nothing counts there.
func ContainsSecretFor(f Field, raw string) bool {
	switch {
	case Spec(f).Kind == SecretField:
		return false
	case f == FieldKeyName || f == FieldKeyRing:
		return containsSecret(raw, func(v string) bool {
			return secretValueRE().MatchString(v) && strings.ContainsAny(v, "/+=")
		})
	}
	return ContainsSecret(raw)
}

func containsSecret(raw string, bare func(string) bool) bool {
	if secretLabelRE().MatchString(raw) {
		return true
	}
	for _, line := range strings.FieldsFunc(raw, func(r rune) bool { return r == '\n' || r == '\r' }) {
		l := strings.TrimSpace(line)
		if bare(l) {
			return true
		}
		if _, v, ok := strings.Cut(l, ": "); ok && bare(strings.TrimSpace(v)) {
			return true
		}
	}
	return false
}
