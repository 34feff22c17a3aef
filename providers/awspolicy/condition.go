package awspolicy

import (
	"encoding/json"
	"strings"
)

// Context is what a request brings to Condition elements: condition keys
// (any case; AWS compares them case-insensitively) and their values, e.g.
// "kms:ResourceAliases": the aliases of the key the request uses.
type Context map[string][]string

func (c Context) values(key string) ([]string, bool) {
	for k, v := range c {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// conditionResult is what a Condition element says about a request.
type conditionResult int

const (
	condUnknown conditionResult = iota // not evaluated: no context, or an operator rekwiz does not read
	condTrue
	condFalse
)

// evalCondition evaluates a Condition element against ctx. With a nil
// context, or an operator it does not implement, the result is unknown,
// and callers then never let the statement grant more than it may.
func evalCondition(raw json.RawMessage, ctx Context) conditionResult {
	if len(raw) == 0 {
		return condTrue
	}
	if ctx == nil {
		return condUnknown
	}
	var ops map[string]map[string]StringList
	if err := json.Unmarshal(raw, &ops); err != nil {
		return condUnknown
	}
	for op, keys := range ops {
		for key, want := range keys {
			r := evalOperator(op, ctx, key, want)
			if r != condTrue {
				return r
			}
		}
	}
	return condTrue
}

// evalOperator implements the string operators, with the ForAnyValue and
// ForAllValues set qualifiers and the IfExists suffix.
func evalOperator(op string, ctx Context, key string, want []string) conditionResult {
	set := ""
	if q, rest, ok := strings.Cut(op, ":"); ok {
		set, op = q, rest
	}
	ifExists := false
	if base, ok := strings.CutSuffix(op, "IfExists"); ok {
		op, ifExists = base, true
	}
	var match func(pattern, value string) bool
	negate := false
	switch op {
	case "StringEquals":
		match = func(p, v string) bool { return p == v }
	case "StringNotEquals":
		match, negate = func(p, v string) bool { return p == v }, true
	case "StringEqualsIgnoreCase":
		match = strings.EqualFold
	case "StringNotEqualsIgnoreCase":
		match, negate = strings.EqualFold, true
	case "StringLike":
		match = func(p, v string) bool { return Wildcard(p, v) }
	case "StringNotLike":
		match, negate = func(p, v string) bool { return Wildcard(p, v) }, true
	default:
		return condUnknown
	}
	have, present := ctx.values(key)
	if !present || len(have) == 0 {
		switch {
		case ifExists, set == "ForAllValues":
			return condTrue
		case negate && set == "":
			return condTrue
		}
		return condFalse
	}
	anyOf := func(v string) bool {
		for _, p := range want {
			if match(p, v) {
				return true
			}
		}
		return false
	}
	var ok bool
	switch set {
	case "ForAllValues":
		ok = true
		for _, v := range have {
			if anyOf(v) == negate {
				ok = false
			}
		}
	default: // ForAnyValue, and a plain operator on a key's values
		for _, v := range have {
			if anyOf(v) != negate {
				ok = true
			}
		}
	}
	if ok {
		return condTrue
	}
	return condFalse
}

// Wildcard matches s against an IAM pattern, where * is any run of
// characters (slashes included) and ? is one character.
func Wildcard(pattern, s string) bool {
	p, v := []rune(pattern), []rune(s)
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(v) {
		switch {
		case i < len(p) && (p[i] == '?' || p[i] == v[j]):
			i++
			j++
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i = star + 1
			mark++
			j = mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}

// DecideIdentity applies an identity (IAM user or role) policy to an
// action on a resource, conditions evaluated against ctx: an explicit
// Deny wins, then any Allow, else the request is denied.
func (d Document) DecideIdentity(action, resource string, ctx Context) Decision {
	return d.decide(ctx, func(st Statement) bool { return st.matchesAction(action) && st.matchesResource(resource) })
}

func (st Statement) matchesResource(resource string) bool {
	if len(st.NotResource) > 0 {
		for _, r := range st.NotResource {
			if Wildcard(r, resource) {
				return false
			}
		}
		return true
	}
	for _, r := range st.Resource {
		if Wildcard(r, resource) {
			return true
		}
	}
	return false
}

// ScopedToAlias reports whether every Allow statement of an identity
// policy that grants one of actions is limited to the key alias: either
// by a kms:ResourceAliases condition naming it, or by naming the key's
// ARN as the resource. It is how a check tells a service account limited
// to its key from one that may use every key in the account.
func (d Document) ScopedToAlias(actions []string, alias string) bool {
	ctxOther := Context{"kms:ResourceAliases": {alias + "-not-this-one"}}
	for _, st := range d.Statement {
		if st.Effect != "Allow" {
			continue
		}
		grants := false
		for _, a := range actions {
			if st.matchesAction(a) {
				grants = true
			}
		}
		if !grants {
			continue
		}
		broad := false
		for _, r := range st.Resource {
			if r == "*" || strings.HasSuffix(r, ":key/*") || strings.HasSuffix(r, ":*") {
				broad = true
			}
		}
		if broad && evalCondition(st.Condition, ctxOther) != condFalse {
			return false
		}
	}
	return true
}
