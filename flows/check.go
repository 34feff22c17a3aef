package flows

import "time"

// Status is where a pairing check stands.
type Status int

// The statuses. Pending and Running are not results; the rest are.
const (
	StatusPending Status = iota
	StatusRunning
	StatusPass
	StatusWarn
	StatusFail
	StatusSkipped
)

var statusWords = [...]string{"pending", "running", "pass", "warn", "fail", "skipped"}

// String is the status as one lowercase word.
func (s Status) String() string {
	if int(s) < len(statusWords) {
		return statusWords[s]
	}
	return "unknown"
}

// Symbol is the status as one character, which with its word says how a
// check went without relying on colour.
func (s Status) Symbol() string {
	switch s {
	case StatusPass:
		return "✓"
	case StatusWarn:
		return "!"
	case StatusFail:
		return "✗"
	case StatusSkipped:
		return "–"
	}
	return "·"
}

// Done reports whether the status is a result.
func (s Status) Done() bool { return s >= StatusPass }

// Check is one thing the pairing check proves, and how that went.
type Check struct {
	ID     string // stable, for tickets and --json: "aws.alias"
	Name   string // what is checked, as a person reads it
	Status Status
	Detail string // one line: what was found
	Remedy string // when not passed: what to do, with the command that does it
	Fix    Step   // the wizard step that fixes a failure, 0 if none does
	// Wait is set while a denied check waits to be tried again (the
	// detail says the same for a person).
	Wait *Wait
}

// Wait is a pause before a check is tried again.
type Wait struct {
	Why  string        // why it may pass later: "AWS may still be applying a policy change"
	In   time.Duration // until the next try
	Left time.Duration // until the check gives up
}

// Passed reports whether every check has a result and none failed.
func Passed(checks []Check) bool {
	if len(checks) == 0 {
		return false
	}
	for _, c := range checks {
		if !c.Status.Done() || c.Status == StatusFail {
			return false
		}
	}
	return true
}

// SetupEvent is one call made while setting a key up through the SDK,
// reported as it happens so the wizard can show it.
type SetupEvent struct {
	Call   string // the API call, as the CLI names it: "kms create-key"
	Detail string // what it did or found
	Err    error  // set when the call failed; the setup stops there
}

// SetupResult is what a setup printed at the end: the values the paste
// step asks for, keyed by field.
type SetupResult struct {
	Paste map[Field]string
}
