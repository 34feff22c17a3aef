// Package flows is rekwiz's onboarding flow as a plain state machine: the
// steps, which answers each provider and key choice needs, how every answer
// is checked, and which step follows which.
//
// It does no I/O and must not import anything that draws on a terminal or
// talks to a cloud: the ui package renders a State and the providers do the
// work it describes, behind the small interfaces their callers declare.
package flows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Step is one screen of the wizard.
type Step int

// The steps in order. StepKeyDetails is the second half of the
// customer's "Key" stage: what the chosen key needs (region, key ID, HSM name, …).
const (
	StepDomain Step = iota + 1
	StepProvider
	StepKey
	StepKeyDetails
	StepScript
	StepPaste
	StepApply
	StepCheck
	StepDone
)

// Steps lists every step in order.
func Steps() []Step {
	return []Step{StepDomain, StepProvider, StepKey, StepKeyDetails, StepScript, StepPaste, StepApply, StepCheck, StepDone}
}

var stepTitles = map[Step]string{
	StepDomain:     "Domain",
	StepProvider:   "Provider",
	StepKey:        "Key",
	StepKeyDetails: "Key details",
	StepScript:     "Script",
	StepPaste:      "Paste",
	StepApply:      "Apply",
	StepCheck:      "Pairing check",
	StepDone:       "Done",
}

// Title is the step's name as the wizard shows it.
func (s Step) Title() string {
	if t, ok := stepTitles[s]; ok {
		return t
	}
	return fmt.Sprintf("Step(%d)", int(s))
}

func (s Step) String() string { return strings.ReplaceAll(strings.ToLower(s.Title()), " ", "-") }

// Stages is how many stages the wizard shows in its progress line.
const Stages = 8

// Stage is the step's place among the eight stages the header counts; the two
// halves of the key step share one.
func (s Step) Stage() int {
	if s >= StepKeyDetails {
		return int(s) - 1
	}
	return int(s)
}

// Sentinel errors of the transitions that wait for work rather than answers.
var (
	ErrNotApplied = errors.New("the key has not been registered yet")
	ErrNotPaired  = errors.New("the pairing check has not passed")
	ErrFinished   = errors.New("the flow is finished")
)

// FieldError is a bad answer: which field, and what was expected.
type FieldError struct {
	Field Field
	Err   error
}

func (e *FieldError) Error() string { return string(e.Field) + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrors is every bad answer of a step, in the step's field order.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// For returns the error for one field, or nil.
func (es FieldErrors) For(f Field) error {
	for _, e := range es {
		if e.Field == f {
			return e.Err
		}
	}
	return nil
}

// State is where a customer is in the flow and what they have answered.
// The zero value is not usable; call New.
type State struct {
	step    Step
	vendor  Vendor
	values  map[Field]string // checked and normalised once their step is passed
	secrets map[Field]string // kept apart so no dump of values can leak one
	notes   map[Field]string // what normalising changed, to show the user
	locked  map[Field]bool   // given on the command line: asked no more
	suggest map[Field]string // offered in an empty field, not yet an answer
	receipt *Receipt
	checks  []Check // the last pairing check's results
}

// New starts a flow for a vendor. Presets are answers given up front (on
// the command line); each is checked, and a step whose every field is
// preset is skipped. Bad presets are returned as FieldErrors.
func New(v Vendor, presets map[Field]string) (*State, error) {
	s := &State{
		vendor:  v,
		values:  map[Field]string{},
		secrets: map[Field]string{},
		notes:   map[Field]string{},
		locked:  map[Field]bool{},
		suggest: map[Field]string{},
	}
	var errs FieldErrors
	for _, f := range fieldOrder {
		raw, ok := presets[f]
		if !ok {
			continue
		}
		if p := s.Provider(); p != "" && !UsedBy(f, p) {
			errs = append(errs, &FieldError{f, fmt.Errorf("not used by %s", p)})
			continue
		}
		val, err := s.Validate(f, raw)
		if err != nil {
			errs = append(errs, &FieldError{f, err})
			continue
		}
		s.store(f, val)
		s.locked[f] = true
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s.step = s.nextApplicable(0)
	return s, nil
}

// fieldOrder is the order presets are checked in: later fields are
// checked against earlier ones (an alias ARN against the domain).
var fieldOrder = []Field{
	FieldDomain, FieldProvider, FieldKey, FieldRegion, FieldKeyID, FieldCompany,
	FieldHSMName, FieldProject, FieldLocation, FieldKeyRing, FieldKeyName, FieldProtection,
	FieldAliasARN, FieldAccessKeyID, FieldSecretAccessKey, FieldKeyURL, FieldTenantID,
	FieldKeyResource,
}

// SetupFields lists, in the flow's order, what a setup script is made
// from: the domain, the provider, the key choice and every provider's
// key details.
func SetupFields() []Field {
	return fieldsOfSteps(StepDomain, StepKeyDetails)
}

// TargetFields lists, in the flow's order, what names a key for a
// pairing check: the domain, the provider and every provider's pasted
// values but its secrets (which come from the environment).
func TargetFields() []Field {
	out := slices.DeleteFunc(fieldsOfSteps(StepPaste, StepPaste), func(f Field) bool { return Spec(f).Kind == SecretField })
	return append([]Field{FieldDomain, FieldProvider}, out...)
}

// PresetFields lists, in the flow's order, every answer a command line
// may give: every field but the secrets.
func PresetFields() []Field {
	return slices.DeleteFunc(slices.Clone(fieldOrder), func(f Field) bool { return Spec(f).Kind == SecretField })
}

// fieldsOfSteps lists, in the flow's order, the fields any provider asks
// for in the steps from first to last.
func fieldsOfSteps(first, last Step) []Field {
	var out []Field
	for _, f := range fieldOrder {
		for st := first; st <= last; st++ {
			if usedIn(f, st) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

func usedIn(f Field, st Step) bool {
	for _, p := range Providers() {
		for _, k := range KeyChoices() {
			if slices.Contains(fieldsOf(st, p, k), f) {
				return true
			}
		}
	}
	return false
}

// UsedBy reports whether a provider asks for a field under any key choice.
func UsedBy(f Field, p Provider) bool {
	for _, k := range KeyChoices() {
		for _, st := range Steps() {
			if slices.Contains(fieldsOf(st, p, k), f) {
				return true
			}
		}
	}
	return false
}

// Step is the step the customer is on.
func (s *State) Step() Step { return s.step }

// Vendor is who the key is delegated to.
func (s *State) Vendor() Vendor { return s.vendor }

// Provider is the chosen provider, or "" before the provider step.
func (s *State) Provider() Provider { return Provider(s.values[FieldProvider]) }

// KeyChoice is the chosen key choice, or "" before the key step.
func (s *State) KeyChoice() KeyChoice { return KeyChoice(s.values[FieldKey]) }

// Value is the answer for a field ("" if none). Secrets are not returned.
func (s *State) Value(f Field) string { return s.values[f] }

// Secret is a secret answer. Callers must not log or store it.
func (s *State) Secret(f Field) string { return s.secrets[f] }

// Note is what normalising an answer changed, to show next to it.
func (s *State) Note(f Field) string { return s.notes[f] }

// Suggest offers a value for a field the user has not answered (the
// demo's existing key, say). It is an answer only once the step is passed.
func (s *State) Suggest(f Field, v string) { s.suggest[f] = strings.TrimSpace(v) }

// Suggestion is what an empty field starts with. A new Azure key is
// offered the name rek-DOMAIN; an existing one, what Suggest offered.
func (s *State) Suggestion(f Field) string {
	if f == FieldKeyName && s.KeyChoice() == KeyNew && s.values[FieldDomain] != "" {
		return "rek-" + s.values[FieldDomain]
	}
	if v, ok := s.suggest[f]; ok {
		return v
	}
	return newKeySuggestion(f, s.KeyChoice())
}

// Locked reports whether a field was given on the command line.
func (s *State) Locked(f Field) bool { return s.locked[f] }

// Fields lists what the current step asks for.
func (s *State) Fields() []FieldSpec { return s.specsOf(s.step) }

// specsOf lists what a step asks for, given the answers so far.
func (s *State) specsOf(step Step) []FieldSpec {
	var specs []FieldSpec
	for _, f := range fieldsOf(step, s.Provider(), s.KeyChoice()) {
		spec := Spec(f)
		if f == FieldKeyName && s.KeyChoice() == KeyNew {
			spec.Label, spec.Help = "Name for the new key", "the script creates "+s.Provider().Cloud().NewKeyKind()+" of this name"
		}
		specs = append(specs, spec)
	}
	return specs
}

// Set records a raw answer. It is checked when the step is passed; any
// change forgets a registration and pairing made with the old answers.
// A secret given to a field that is not secret is not kept: Set says so
// with ErrSecretInField rather than drop it unseen.
func (s *State) Set(f Field, v string) error {
	v = strings.TrimSpace(v)
	m := s.values
	if Spec(f).Kind == SecretField {
		m = s.secrets
	} else if ContainsSecretFor(f, v) {
		return &FieldError{f, ErrSecretInField}
	}
	if m[f] == v {
		return nil
	}
	// The Azure key name means the key to use, or the name for a new
	// one: another key choice asks for it afresh.
	if f == FieldKey && !s.locked[FieldKeyName] {
		delete(s.values, FieldKeyName)
	}
	m[f] = v
	delete(s.notes, f)
	s.receipt, s.checks = nil, nil
	return nil
}

func (s *State) store(f Field, v Value) {
	if Spec(f).Kind == SecretField {
		s.secrets[f] = v.Text
	} else {
		s.values[f] = v.Text
	}
	if v.Note != "" {
		s.notes[f] = v.Note
	} else {
		delete(s.notes, f)
	}
}

func (s *State) raw(f Field) string {
	if Spec(f).Kind == SecretField {
		return s.secrets[f]
	}
	return s.values[f]
}

// Next checks the current step's answers and moves to the next step that
// applies. Bad answers come back as FieldErrors and the step stays. Apply
// and the pairing check move on only once their work has succeeded.
func (s *State) Next() error {
	switch s.step {
	case StepApply:
		if s.receipt == nil {
			return ErrNotApplied
		}
	case StepCheck:
		if !s.Paired() {
			return ErrNotPaired
		}
	case StepDone:
		return ErrFinished
	}
	if err := s.validateStep(s.step); err != nil {
		return err
	}
	s.step = s.nextApplicable(s.step)
	return nil
}

func (s *State) validateStep(step Step) error {
	var errs FieldErrors
	type checked struct {
		f Field
		v Value
	}
	var ok []checked
	typed := map[Field]string{}
	for _, spec := range s.specsOf(step) {
		typed[spec.Field] = s.raw(spec.Field)
	}
	results := s.ValidateForm(typed)
	for _, spec := range s.specsOf(step) {
		r := results[spec.Field]
		if r.Err != nil {
			errs = append(errs, &FieldError{spec.Field, r.Err})
			continue
		}
		ok = append(ok, checked{spec.Field, r.Value})
	}
	if len(errs) > 0 {
		return errs
	}
	for _, c := range ok {
		s.store(c.f, c.v)
	}
	return nil
}

// Back moves to the previous step that applies, keeping every answer. It
// returns false on the first step.
func (s *State) Back() bool {
	prev, ok := s.prevApplicable()
	if ok {
		s.step = prev
	}
	return ok
}

// CanGoBack reports whether Back would move.
func (s *State) CanGoBack() bool {
	_, ok := s.prevApplicable()
	return ok
}

func (s *State) prevApplicable() (Step, bool) {
	for st := s.step - 1; st >= StepDomain; st-- {
		if s.applies(st) {
			return st, true
		}
	}
	return 0, false
}

// GoBackTo moves back to an earlier step that applies, as a failed check
// does to send the customer to the step that fixes it.
func (s *State) GoBackTo(step Step) bool {
	if step >= s.step || step < StepDomain || !s.applies(step) {
		return false
	}
	s.step = step
	return true
}

// applies reports whether a step is shown: steps that do work always are;
// steps that ask are skipped when every answer was given up front.
func (s *State) applies(step Step) bool {
	fs := fieldsOf(step, s.Provider(), s.KeyChoice())
	if len(fs) == 0 {
		return true
	}
	for _, f := range fs {
		if !s.locked[f] {
			return true
		}
	}
	return false
}

func (s *State) nextApplicable(from Step) Step {
	for st := from + 1; st <= StepDone; st++ {
		if s.applies(st) {
			return st
		}
	}
	return StepDone
}

// Receipt is the result of a successful apply.
type Receipt struct {
	RekID string // the key's ID in the domain
	Where string // where it was registered, as a person reads it
	Test  string // the vendor's own test of the key, when the API ran one
}

// SetReceipt records a successful apply.
func (s *State) SetReceipt(r Receipt) { s.receipt = &r }

// Receipt returns the apply's result, or nil before apply succeeds.
func (s *State) Receipt() *Receipt { return s.receipt }

// SetPairing records the results of a pairing check.
func (s *State) SetPairing(checks []Check) { s.checks = append([]Check(nil), checks...) }

// Checks are the last pairing check's results.
func (s *State) Checks() []Check { return s.checks }

// Paired reports whether the last pairing check passed.
func (s *State) Paired() bool { return Passed(s.checks) }
