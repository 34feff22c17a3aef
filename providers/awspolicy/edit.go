package awspolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
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
// names (ForAnyValue:StringEquals on kms:ResourceAliases, as the seeds
// write it).
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

// Upsert returns the policy with st in place of any statement with the
// same Sid (or added at the end), every other statement and top-level
// element kept as it was. changed is false when the policy already held
// exactly st, so a second run writes nothing.
func Upsert(policy string, st Statement) (out string, changed bool, err error) {
	if st.Sid == "" {
		return "", false, errors.New("the statement to add needs a Sid")
	}
	ours, err := json.Marshal(st)
	if err != nil {
		return "", false, err
	}
	return edit(policy, st.Sid, ours)
}

// Remove returns the policy without the statement with this Sid; changed
// is false when there was none.
func Remove(policy, sid string) (out string, changed bool, err error) {
	return edit(policy, sid, nil)
}

// edit replaces (or, with ours nil, removes) the statement with sid.
func edit(policy, sid string, ours json.RawMessage) (string, bool, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(policy), &top); err != nil {
		return "", false, fmt.Errorf("key policy is not valid JSON: %w", err)
	}
	stmts, err := statementList(top["Statement"])
	if err != nil {
		return "", false, err
	}
	var kept []json.RawMessage
	var old json.RawMessage
	for _, s := range stmts {
		var head struct{ Sid string }
		_ = json.Unmarshal(s, &head)
		if head.Sid == sid {
			old = s
			continue
		}
		kept = append(kept, s)
	}
	if ours != nil {
		if old != nil && sameJSON(old, ours) {
			return policy, false, nil
		}
		kept = append(kept, ours)
	} else if old == nil {
		return policy, false, nil
	}
	list, err := json.Marshal(kept)
	if err != nil {
		return "", false, err
	}
	top["Statement"] = list
	if _, ok := top["Version"]; !ok {
		top["Version"] = json.RawMessage(`"2012-10-17"`)
	}
	out, err := marshalOrdered(top)
	return out, true, err
}

// sameJSON reports whether two JSON values are equal once parsed.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ca, _ := json.Marshal(x)
	cb, _ := json.Marshal(y)
	return bytes.Equal(ca, cb)
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
