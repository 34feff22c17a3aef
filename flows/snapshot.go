package flows

import (
	"fmt"
	"time"
)

// Snapshot is a flow's progress as it may be saved: the answers that are
// not secret and the step reached. Secrets are never in it; they are
// asked again on resume.
type Snapshot struct {
	Domain string           `json:"domain"`
	Step   Step             `json:"step"`
	Values map[Field]string `json:"values"`
	Saved  time.Time        `json:"saved"`
}

// Snapshot returns the progress to save, or false before the domain is
// answered (progress is kept per domain).
func (s *State) Snapshot(now time.Time) (Snapshot, bool) {
	domain := s.values[FieldDomain]
	if _, err := ParseDomainID(domain); err != nil || s.step <= StepDomain {
		return Snapshot{}, false
	}
	values := map[Field]string{}
	for f, v := range s.values {
		if v != "" && Spec(f).Kind != SecretField {
			values[f] = v
		}
	}
	// Apply and the check redo their work on resume; a snapshot never
	// claims a registration or a pairing it does not hold.
	step := min(s.step, StepApply)
	return Snapshot{Domain: domain, Step: step, Values: values, Saved: now.UTC()}, true
}

// Resume puts saved progress into a flow that has not moved yet: each
// answer is checked again (answers given on the command line win), and
// the flow goes to the saved step, or to the first step before it whose
// answers no longer hold. It returns the step resumed at.
func (s *State) Resume(snap Snapshot) (Step, error) {
	if s.step != s.nextApplicable(0) {
		return 0, fmt.Errorf("resume: the flow has moved already")
	}
	if _, err := ParseDomainID(snap.Domain); err != nil {
		return 0, fmt.Errorf("resume: %w", err)
	}
	for _, f := range fieldOrder {
		v, ok := snap.Values[f]
		if !ok || s.locked[f] || Spec(f).Kind == SecretField {
			continue
		}
		s.values[f] = v
	}
	target := min(snap.Step, StepApply)
	for s.step < target {
		if err := s.validateStep(s.step); err != nil {
			break
		}
		s.step = s.nextApplicable(s.step)
	}
	return s.step, nil
}

// MarshalText writes a step by name ("paste"), so saved progress does
// not depend on the steps' order.
func (s Step) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a step's name.
func (s *Step) UnmarshalText(b []byte) error {
	for _, st := range Steps() {
		if st.String() == string(b) {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("unknown step %q", b)
}
