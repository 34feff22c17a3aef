// Package awspolicy reads, evaluates and edits AWS KMS key policies.
//
// It parses the forms AWS accepts (a statement object or a list, string or
// list principals and actions, wildcards), decides whether a principal may
// perform an action the way KMS does (an explicit Deny wins), and adds or
// removes the vendor's statement by its Sid while keeping every other
// statement as it was. It does no I/O.
package awspolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
)

// VendorActions are exactly the actions a delegated key's policy grants
// the vendor, in the order the vendor's own setup instructions list them.
var VendorActions = []string{
	"kms:DescribeKey",
	"kms:GenerateDataKeyWithoutPlaintext",
	"kms:Decrypt",
	"kms:ReEncryptFrom",
	"kms:ReEncryptTo",
}

// VendorSid is the Sid of the vendor's statement. Setup replaces the
// statement with this Sid and teardown removes it; nothing else is touched.
func VendorSid(slug string) string { return "rekwiz-" + slug }

// Statement is one policy statement. Fields keep their JSON forms (a
// string or a list) through StringList.
type Statement struct {
	Sid          string          `json:"Sid,omitempty"`
	Effect       string          `json:"Effect"`
	Principal    *Principal      `json:"Principal,omitempty"`
	NotPrincipal *Principal      `json:"NotPrincipal,omitempty"`
	Action       StringList      `json:"Action,omitempty"`
	NotAction    StringList      `json:"NotAction,omitempty"`
	Resource     StringList      `json:"Resource,omitempty"`
	NotResource  StringList      `json:"NotResource,omitempty"`
	Condition    json.RawMessage `json:"Condition,omitempty"`
}

// Principal is "*" or a map such as {"AWS": ["arn:…", "123456789012"]}.
type Principal struct {
	Any bool // "*"
	AWS StringList
	// Service and other principal types never match an IAM caller.
	Other map[string]StringList
}

// UnmarshalJSON accepts "*" and the map form.
func (p *Principal) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s != "*" {
			return fmt.Errorf("principal %q: expected \"*\" or an object", s)
		}
		p.Any = true
		return nil
	}
	var m map[string]StringList
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("principal: %w", err)
	}
	for k, v := range m {
		if k == "AWS" {
			p.AWS = v
			continue
		}
		if p.Other == nil {
			p.Other = map[string]StringList{}
		}
		p.Other[k] = v
	}
	return nil
}

// MarshalJSON writes "*" or the map form.
func (p Principal) MarshalJSON() ([]byte, error) {
	if p.Any {
		return []byte(`"*"`), nil
	}
	m := map[string]StringList{}
	for k, v := range p.Other {
		m[k] = v
	}
	if len(p.AWS) > 0 {
		m["AWS"] = p.AWS
	}
	return json.Marshal(m)
}

// StringList is a JSON string or list of strings.
type StringList []string

// UnmarshalJSON accepts a string or a list of strings.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = StringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return errors.New("expected a string or a list of strings")
	}
	*l = ss
	return nil
}

// MarshalJSON writes a single string as a string and several as a list.
func (l StringList) MarshalJSON() ([]byte, error) {
	if len(l) == 1 {
		return json.Marshal(l[0])
	}
	return json.Marshal([]string(l))
}

// Document is a parsed key policy.
type Document struct {
	Version   string
	Statement []Statement
}

// Parse reads a key policy. Statement may be an object or a list.
func Parse(policy string) (Document, error) {
	var raw struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(policy), &raw); err != nil {
		return Document{}, fmt.Errorf("key policy is not valid JSON: %w", err)
	}
	stmts, err := statementList(raw.Statement)
	if err != nil {
		return Document{}, err
	}
	d := Document{Version: raw.Version}
	for i, s := range stmts {
		var st Statement
		if err := json.Unmarshal(s, &st); err != nil {
			return Document{}, fmt.Errorf("key policy statement %d: %w", i+1, err)
		}
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return Document{}, fmt.Errorf("key policy statement %d: Effect must be Allow or Deny", i+1)
		}
		if emptyCondition(st.Condition) {
			st.Condition = nil // "Condition": {} limits nothing
		}
		d.Statement = append(d.Statement, st)
	}
	return d, nil
}

// emptyCondition reports whether a Condition element limits nothing:
// null, {}, or operators that name no keys. AWS applies such a statement
// as if it had no Condition, so rekwiz must too (a grant to everyone with
// "Condition": {} is a grant to everyone).
func emptyCondition(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return true
	}
	var ops map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ops); err != nil {
		return false // not understood: it may limit, so it counts
	}
	for _, keys := range ops {
		if len(keys) > 0 {
			return false
		}
	}
	return true
}

// statementList returns the statements of a Statement element, which AWS
// accepts as one object or a list of them, each still as written.
func statementList(raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, nil
	case raw[0] == '{':
		return []json.RawMessage{raw}, nil
	case raw[0] == '[':
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("key policy Statement: %w", err)
		}
		return list, nil
	}
	return nil, errors.New("key policy Statement must be an object or a list")
}

// Caller is who makes a request.
type Caller struct {
	ARN     string // arn:aws:iam::ACCOUNT:user/NAME, …:role/NAME, or arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION
	Account string
}

// Decision is what a key policy says about a request.
type Decision int

// The decisions. ImplicitDeny means no statement allows it.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

func (d Decision) String() string {
	return [...]string{"implicit deny", "allow", "explicit deny"}[d]
}

// Decide applies the policy to a caller and an action as KMS does: an
// explicit Deny wins, then any Allow, else the request is denied. A
// statement naming the caller's account (its ID or root ARN) lets IAM in
// that account decide; callers here are taken to hold IAM permission.
//
// Conditions are not evaluated: an Allow with a Condition is treated as
// not allowing and a Deny with one as denying, so a policy rekwiz cannot
// read fully is never reported as granting more than it may.
func (d Document) Decide(c Caller, action string) Decision {
	return d.DecideIn(c, action, nil)
}

// DecideIn is Decide with the request's condition keys: the string
// operators are evaluated against ctx, and any other operator is treated
// as Decide treats every condition.
func (d Document) DecideIn(c Caller, action string, ctx Context) Decision {
	return d.decide(ctx, func(st Statement) bool { return st.matchesAction(action) && st.matchesCaller(c) })
}

// decide applies the statements that match, conditions evaluated against
// ctx: an explicit Deny wins, then any Allow, else the request is denied.
func (d Document) decide(ctx Context, matches func(Statement) bool) Decision {
	allowed := false
	for _, st := range d.Statement {
		if !matches(st) {
			continue
		}
		switch cond := evalCondition(st.Condition, ctx); {
		case st.Effect == "Deny" && cond != condFalse:
			return ExplicitDeny
		case st.Effect == "Allow" && cond == condTrue:
			allowed = true
		}
	}
	if allowed {
		return Allow
	}
	return ImplicitDeny
}

// GrantsAccount reports whether a statement lets IAM policies in the
// account decide for its principals (a principal of the account's ID or
// root ARN), which a service account's user policy needs.
func (d Document) GrantsAccount(account, action string) bool {
	for _, st := range d.Statement {
		if st.Effect != "Allow" || len(st.Condition) > 0 || !st.matchesAction(action) || st.Principal == nil {
			continue
		}
		for _, a := range st.Principal.AWS {
			if a == account || strings.HasSuffix(a, ":"+account+":root") {
				return true
			}
		}
		if st.Principal.Any {
			return true
		}
	}
	return false
}

func (st Statement) matchesAction(action string) bool {
	if len(st.NotAction) > 0 {
		return !matchAny(st.NotAction, action)
	}
	return matchAny(st.Action, action)
}

func matchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		// Action names are case-insensitive; path.Match gives * and ?.
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(action)); ok {
			return true
		}
	}
	return false
}

func (st Statement) matchesCaller(c Caller) bool {
	if st.NotPrincipal != nil {
		return !st.NotPrincipal.matches(c)
	}
	return st.Principal != nil && st.Principal.matches(c)
}

func (p Principal) matches(c Caller) bool {
	if p.Any {
		return true
	}
	for _, a := range p.AWS {
		if a == "*" || a == c.Account || a == c.ARN {
			return true
		}
		parts := strings.Split(a, ":")
		if len(parts) == 6 && parts[2] == "iam" && parts[4] == c.Account {
			if parts[5] == "root" {
				return true
			}
			// A role grants its assumed-role sessions.
			if role, ok := strings.CutPrefix(parts[5], "role/"); ok && strings.HasPrefix(c.ARN, "arn:"+parts[1]+":sts::"+c.Account+":assumed-role/"+lastSegment(role)+"/") {
				return true
			}
		}
	}
	return false
}

func lastSegment(s string) string { return s[strings.LastIndex(s, "/")+1:] }

// Missing lists the actions among want that the policy does not allow the
// caller, each with the decision that stops it.
func (d Document) Missing(c Caller, want []string) map[string]Decision {
	out := map[string]Decision{}
	for _, a := range want {
		if dec := d.Decide(c, a); dec != Allow {
			out[a] = dec
		}
	}
	return out
}
