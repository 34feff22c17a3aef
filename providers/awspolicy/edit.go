package awspolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// VendorStatement is the statement that delegates a key to the vendor:
// exactly VendorActions, for the vendor's principal, on this key.
func VendorStatement(sid, principal string) Statement {
	return Statement{
		Sid:       sid,
		Effect:    "Allow",
		Principal: &Principal{AWS: StringList{principal}},
		Action:    append(StringList(nil), VendorActions...),
		Resource:  StringList{"*"},
	}
}

// ServiceAccountActions are the actions a service account's IAM policy
// allows: the vendor's, and kms:Encrypt.
var ServiceAccountActions = append(append([]string(nil), VendorActions...), "kms:Encrypt")

// ServiceAccountPolicy is the IAM user policy of a service account: its
// actions on resource (the key ARN pattern), only for the key the alias
// names (ForAnyValue:StringEquals on kms:ResourceAliases, the form the
// vendor's own setup instructions use).
func ServiceAccountPolicy(alias, resource string) Document {
	cond, _ := json.Marshal(map[string]map[string]string{
		"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias},
	})
	return Document{Version: "2012-10-17", Statement: []Statement{{
		Sid:       "RekwizKeyAccess",
		Effect:    "Allow",
		Action:    append(StringList(nil), ServiceAccountActions...),
		Resource:  StringList{resource},
		Condition: cond,
	}}}
}

// ConflictError is returned when the policy holds a statement with the
// vendor's Sid that is not the one rekwiz writes: rekwiz neither replaces
// nor removes it unless the customer confirms what will be lost.
type ConflictError struct {
	Sid string
	// Existing is the statement found, as the policy holds it; Ours is
	// the one rekwiz writes.
	Existing, Ours json.RawMessage
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("the key policy already has a statement %s that differs from the one rekwiz writes; remove or rename it, or confirm replacing it", e.Sid)
}

// Losses says, one item each, what replacing the existing statement with
// rekwiz's would lose or change, for the customer to confirm.
func (e *ConflictError) Losses() []string {
	var old, ours Statement
	if json.Unmarshal(e.Existing, &old) != nil || json.Unmarshal(e.Ours, &ours) != nil {
		return []string{"the existing statement, which rekwiz cannot read, is replaced as a whole"}
	}
	var out []string
	if old.Effect != ours.Effect {
		out = append(out, fmt.Sprintf("its Effect %s becomes %s", old.Effect, ours.Effect))
	}
	if len(old.Condition) > 0 && string(old.Condition) != "null" {
		out = append(out, "its Condition "+compact(old.Condition)+" is dropped")
	}
	if old.NotPrincipal != nil {
		out = append(out, "its NotPrincipal is dropped")
	}
	if len(old.NotAction) > 0 {
		out = append(out, "its NotAction "+strings.Join(old.NotAction, ", ")+" is dropped")
	}
	if p, q := principalText(old.Principal), principalText(ours.Principal); p != q {
		out = append(out, fmt.Sprintf("its principal %s becomes %s", p, q))
	}
	if more := minus(ours.Action, old.Action); len(more) > 0 && len(old.NotAction) == 0 {
		out = append(out, "actions it does not allow are added: "+strings.Join(more, ", "))
	}
	if gone := minus(old.Action, ours.Action); len(gone) > 0 {
		out = append(out, "actions rekwiz does not write are dropped: "+strings.Join(gone, ", "))
	}
	if r, q := strings.Join(sortedSet(old.Resource), ", "), strings.Join(sortedSet(ours.Resource), ", "); r != q {
		out = append(out, fmt.Sprintf("its Resource %s becomes %s", r, q))
	}
	var extra map[string]json.RawMessage
	_ = json.Unmarshal(e.Existing, &extra)
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "Condition":
		default:
			out = append(out, "its element "+k+" is dropped")
		}
	}
	if len(out) == 0 {
		out = append(out, "the statement is rewritten in rekwiz's form")
	}
	return out
}

// DuplicateSidError is returned when more than one statement carries the
// vendor's Sid: rekwiz cannot tell which is its own and changes nothing.
type DuplicateSidError struct {
	Sid        string
	Statements []json.RawMessage
}

func (e *DuplicateSidError) Error() string {
	return fmt.Sprintf("the key policy has %d statements with Sid %s; rekwiz changes nothing until only one (or none) is left", len(e.Statements), e.Sid)
}

// Upsert returns the policy with st added at the end, every other
// statement and top-level element kept as it was. changed is false when
// the policy already held st (compared by meaning: a string or a list of
// one, any order of actions), so a second run writes nothing. A
// different statement with st's Sid is a *ConflictError and two or more
// a *DuplicateSidError; nothing is changed then.
func Upsert(policy string, st Statement) (out string, changed bool, err error) {
	return put(policy, st, false)
}

// Replace is Upsert that puts st in place of a different statement with
// its Sid, for when the customer has confirmed what that loses. Two or
// more statements with the Sid are still a *DuplicateSidError.
func Replace(policy string, st Statement) (out string, changed bool, err error) {
	return put(policy, st, true)
}

func put(policy string, st Statement, replace bool) (string, bool, error) {
	if st.Sid == "" {
		return "", false, errors.New("the statement to add needs a Sid")
	}
	ours, err := json.Marshal(st)
	if err != nil {
		return "", false, err
	}
	top, stmts, found, err := find(policy, st.Sid)
	if err != nil {
		return "", false, err
	}
	switch {
	case len(found) > 1:
		return "", false, dupErr(st.Sid, stmts, found)
	case len(found) == 1 && SameStatement(stmts[found[0]], ours):
		return policy, false, nil
	case len(found) == 1 && !replace:
		return "", false, &ConflictError{Sid: st.Sid, Existing: stmts[found[0]], Ours: ours}
	case len(found) == 1:
		stmts[found[0]] = ours
	default:
		stmts = append(stmts, ours)
	}
	out, err := write(top, stmts)
	return out, err == nil, err
}

// Remove returns the policy without st (the statement setup writes);
// changed is false when there was none with its Sid. A different
// statement with st's Sid is a *ConflictError, two or more a
// *DuplicateSidError, and nothing is removed.
func Remove(policy string, st Statement) (out string, changed bool, err error) {
	ours, err := json.Marshal(st)
	if err != nil {
		return "", false, err
	}
	top, stmts, found, err := find(policy, st.Sid)
	if err != nil {
		return "", false, err
	}
	switch {
	case len(found) == 0:
		return policy, false, nil
	case len(found) > 1:
		return "", false, dupErr(st.Sid, stmts, found)
	case !SameStatement(stmts[found[0]], ours):
		return "", false, &ConflictError{Sid: st.Sid, Existing: stmts[found[0]], Ours: ours}
	}
	stmts = slices.Delete(stmts, found[0], found[0]+1)
	out, err = write(top, stmts)
	return out, err == nil, err
}

func dupErr(sid string, stmts []json.RawMessage, found []int) error {
	e := &DuplicateSidError{Sid: sid}
	for _, i := range found {
		e.Statements = append(e.Statements, stmts[i])
	}
	return e
}

// find parses a policy and returns the indexes of the statements with sid.
func find(policy, sid string) (map[string]json.RawMessage, []json.RawMessage, []int, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(policy), &top); err != nil {
		return nil, nil, nil, fmt.Errorf("key policy is not valid JSON: %w", err)
	}
	stmts, err := statementList(top["Statement"])
	if err != nil {
		return nil, nil, nil, err
	}
	var found []int
	for i, s := range stmts {
		var head struct{ Sid string }
		_ = json.Unmarshal(s, &head)
		if head.Sid == sid {
			found = append(found, i)
		}
	}
	return top, stmts, found, nil
}

func write(top map[string]json.RawMessage, stmts []json.RawMessage) (string, error) {
	if stmts == nil {
		stmts = []json.RawMessage{}
	}
	list, err := json.Marshal(stmts)
	if err != nil {
		return "", err
	}
	top["Statement"] = list
	if _, ok := top["Version"]; !ok {
		top["Version"] = json.RawMessage(`"2012-10-17"`)
	}
	return marshalOrdered(top)
}

// SameStatement reports whether two statements mean the same: equal once
// parsed, where Action, NotAction, Resource and each principal list are
// compared as sets (a string equals a list of that one string). The
// scripts' jq does the same comparison.
func SameStatement(a, b json.RawMessage) bool {
	x, ok1 := canonical(a)
	y, ok2 := canonical(b)
	return ok1 && ok2 && reflect.DeepEqual(x, y)
}

func canonical(raw json.RawMessage) (map[string]any, bool) {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	for k, v := range m {
		switch k {
		case "Action", "NotAction", "Resource":
			m[k] = set(v)
		case "Principal", "NotPrincipal":
			if p, ok := v.(map[string]any); ok {
				for pk, pv := range p {
					p[pk] = set(pv)
				}
			}
		}
	}
	return m, true
}

// set turns a string or a list into a sorted list without repeats.
func set(v any) any {
	var out []string
	switch v := v.(type) {
	case string:
		out = []string{v}
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return v
			}
			out = append(out, s)
		}
	default:
		return v
	}
	return sortedSet(out)
}

func sortedSet(l []string) []string {
	out := slices.Clone(l)
	slices.Sort(out)
	return slices.Compact(out)
}

// minus is what a has that b has not.
func minus(a, b []string) []string {
	var out []string
	for _, s := range sortedSet(a) {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func principalText(p *Principal) string {
	switch {
	case p == nil:
		return "(none)"
	case p.Any:
		return `"*"`
	}
	var parts []string
	if len(p.AWS) > 0 {
		parts = append(parts, "AWS "+strings.Join(sortedSet(p.AWS), ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(p.Other)) {
		parts = append(parts, k+" "+strings.Join(sortedSet(p.Other[k]), ", "))
	}
	return strings.Join(parts, "; ")
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// marshalOrdered writes Version, Id, Statement first (as AWS shows them)
// and any other top-level element after, each value as it was.
func marshalOrdered(top map[string]json.RawMessage) (string, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	write := func(k string, v json.RawMessage) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(v)
	}
	for _, k := range []string{"Version", "Id", "Statement"} {
		if v, ok := top[k]; ok {
			write(k, v)
			delete(top, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		write(k, top[k])
	}
	b.WriteByte('}')
	var check any
	if err := json.Unmarshal(b.Bytes(), &check); err != nil {
		return "", fmt.Errorf("editing the key policy produced invalid JSON: %w", err)
	}
	return b.String(), nil
}
