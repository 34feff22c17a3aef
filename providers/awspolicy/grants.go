package awspolicy

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// KMSActions is every action KMS authorizes, as IAM names it, so that a
// wildcard (kms:*, kms:Re*, kms:Describe*) can be expanded to the actions
// it grants.
//
// Where it came from: the operations of the KMS API as the AWS SDK for Go
// v2 (service/kms v1.62.4) defines them (one api_op_*.go file each), with
// ReEncrypt replaced by the two permissions that authorize it
// (kms:ReEncryptFrom, kms:ReEncryptTo) and the permission-only action
// kms:SynchronizeMultiRegionKey added, as the Service Authorization
// Reference ("Actions defined by AWS Key Management Service") lists them.
// A new KMS action missing here is still reported when a statement names
// it literally; only its expansion from a wildcard is missed.
var KMSActions = []string{
	"kms:CancelKeyDeletion", "kms:ConnectCustomKeyStore", "kms:CreateAlias", "kms:CreateCustomKeyStore",
	"kms:CreateGrant", "kms:CreateKey", "kms:Decapsulate", "kms:Decrypt", "kms:DeleteAlias",
	"kms:DeleteCustomKeyStore", "kms:DeleteImportedKeyMaterial", "kms:DeriveSharedSecret",
	"kms:DescribeCustomKeyStores", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation",
	"kms:DisconnectCustomKeyStore", "kms:EnableKey", "kms:EnableKeyRotation", "kms:Encapsulate", "kms:Encrypt",
	"kms:GenerateDataKey", "kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext",
	"kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateMac", "kms:GenerateRandom", "kms:GetKeyLastUsage",
	"kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:GetParametersForImport", "kms:GetPublicKey",
	"kms:ImportKeyMaterial", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations",
	"kms:ListKeys", "kms:ListResourceTags", "kms:ListRetirableGrants", "kms:PutKeyPolicy", "kms:ReEncryptFrom",
	"kms:ReEncryptTo", "kms:ReplicateKey", "kms:RetireGrant", "kms:RevokeGrant", "kms:RotateKeyOnDemand",
	"kms:ScheduleKeyDeletion", "kms:Sign", "kms:SynchronizeMultiRegionKey", "kms:TagResource",
	"kms:UntagResource", "kms:UpdateAlias", "kms:UpdateCustomKeyStore", "kms:UpdateKeyDescription",
	"kms:UpdatePrimaryRegion", "kms:Verify", "kms:VerifyMac",
}

// isPattern reports whether an action names several (has * or ?).
func isPattern(a string) bool { return strings.ContainsAny(a, "*?") }

// kmsActions lists the KMS actions of the table a statement allows
// (through Action or NotAction).
func (st Statement) kmsActions() []string {
	var out []string
	for _, a := range KMSActions {
		if st.matchesAction(a) {
			out = append(out, a)
		}
	}
	return out
}

// Label names a statement for a person: its Sid, or its place in the
// policy when it has none.
func Label(st Statement, i int) string {
	if st.Sid != "" {
		return st.Sid
	}
	return fmt.Sprintf("#%d (no Sid)", i+1)
}

// Extra is a statement that grants a principal more than it needs.
type Extra struct {
	Sid     string   // the statement's Sid, or its place ("#2 (no Sid)")
	Actions []string // each action beyond what is needed, as written or as a wildcard expands
}

func (e Extra) String() string {
	return "statement " + e.Sid + " grants " + NameActions(e.Actions)
}

// NameActions lists actions for a sentence, the first eight by name and
// the rest as a count.
func NameActions(actions []string) string {
	const show = 8
	if len(actions) <= show {
		return strings.Join(actions, ", ")
	}
	return strings.Join(actions[:show], ", ") + fmt.Sprintf(" and %d more", len(actions)-show)
}

// Beyond lists, for each Allow statement naming account (its ID, its
// root, or a role or user in it) as principal, the actions it grants
// beyond need: literal actions by name, and the KMS actions a wildcard
// or a NotAction expands to (kms:ReEncrypt* is no extra where need has
// both ReEncrypt actions). Conditions are not read: a conditional grant
// is still a grant.
func (d Document) Beyond(account string, need []string) []Extra {
	var out []Extra
	for i, st := range d.Statement {
		if st.Effect != "Allow" || st.Principal == nil || !st.Principal.namesAccount(account) {
			continue
		}
		extra := st.beyond(need)
		if len(extra) > 0 {
			out = append(out, Extra{Sid: Label(st, i), Actions: extra})
		}
	}
	return out
}

// beyond lists the actions an Allow statement grants that are not in
// need.
func (st Statement) beyond(need []string) []string {
	var extra []string
	add := func(a string) {
		if !slices.ContainsFunc(need, func(n string) bool { return strings.EqualFold(n, a) }) &&
			!slices.ContainsFunc(extra, func(x string) bool { return strings.EqualFold(x, a) }) {
			extra = append(extra, a)
		}
	}
	if len(st.NotAction) > 0 {
		for _, a := range st.kmsActions() {
			add(a)
		}
		return extra
	}
	for _, a := range st.Action {
		if !isPattern(a) {
			add(a)
			continue
		}
		for _, k := range KMSActions {
			if matchAny([]string{a}, k) {
				add(k)
			}
		}
	}
	return extra
}

// namesAccount reports whether a principal names the account or one of
// its identities (not "*", which names everyone).
func (p Principal) namesAccount(account string) bool {
	for _, a := range p.AWS {
		if a == account {
			return true
		}
		if parts := strings.Split(a, ":"); len(parts) == 6 && (parts[2] == "iam" || parts[2] == "sts") && parts[4] == account {
			return true
		}
	}
	return false
}

// OpenToEveryone lists the statements that let anyone use the key: an
// Allow of a KMS action to Principal "*" or {"AWS": "*"} (or to
// everyone but some, through NotPrincipal) without a Condition.
func (d Document) OpenToEveryone() []string {
	var out []string
	for i, st := range d.Statement {
		if st.Effect != "Allow" || len(st.Condition) > 0 || len(st.kmsActions()) == 0 && !st.grantsUnknown() {
			continue
		}
		if st.NotPrincipal != nil || st.Principal != nil && (st.Principal.Any || slices.Contains(st.Principal.AWS, "*")) {
			out = append(out, Label(st, i))
		}
	}
	return out
}

// grantsUnknown reports whether a statement names a kms: action that is
// not in the table (a newer action), which still counts as a grant.
func (st Statement) grantsUnknown() bool {
	for _, a := range st.Action {
		if strings.HasPrefix(strings.ToLower(a), "kms:") {
			return true
		}
	}
	return false
}

// Finding is one thing an identity policy's statement grants beyond what
// a service account needs.
type Finding struct {
	Sid  string
	What string // "allows iam:* actions", "allows kms:Decrypt, … on * without a kms:ResourceAliases condition"
	Fail bool   // beyond the alias or into IAM; false: more KMS actions, on the alias only
}

func (f Finding) String() string { return "statement " + f.Sid + " " + f.What }

// BeyondAlias reads an identity (IAM user or group) policy of a service
// account that should use one key, through its alias, and nothing else.
// It reports each Allow statement that grants any IAM action (iam:*,
// *, *:*), or KMS actions on a resource other than keys (the key's and
// the alias's ARNs) without a kms:ResourceAliases condition that limits
// them to alias (as a Fail); and KMS actions beyond need on the alias
// (not a Fail). Deny statements only take away, and are not reported.
func (d Document) BeyondAlias(alias string, keys []string, need []string) []Finding {
	var out []Finding
	for i, st := range d.Statement {
		if st.Effect != "Allow" {
			continue
		}
		sid := Label(st, i)
		if st.grantsService("iam") {
			out = append(out, Finding{Sid: sid, Fail: true, What: "allows IAM actions (" + strings.Join(st.actionsOf("iam"), ", ") + ")"})
		}
		granted := st.kmsActions()
		if len(granted) == 0 && !st.grantsUnknown() {
			continue
		}
		if !scopedByAlias(st.Condition, alias) {
			var wide []string
			if len(st.NotResource) > 0 {
				wide = append(wide, "every resource but "+strings.Join(st.NotResource, ", "))
			}
			for _, r := range st.Resource {
				if !slices.ContainsFunc(keys, func(k string) bool { return k == r }) {
					wide = append(wide, r)
				}
			}
			if len(wide) > 0 {
				out = append(out, Finding{Sid: sid, Fail: true, What: "allows " + st.written() + " on " + strings.Join(wide, ", ") +
					" without a kms:ResourceAliases condition limiting it to " + alias})
				continue
			}
		}
		if extra := st.beyond(need); len(extra) > 0 {
			out = append(out, Finding{Sid: sid, What: "allows " + NameActions(extra) + " beyond what the vendor needs"})
		}
	}
	return out
}

// written names a statement's actions as it writes them.
func (st Statement) written() string {
	if len(st.NotAction) > 0 {
		return "every action but " + strings.Join(st.NotAction, ", ")
	}
	return strings.Join(st.Action, ", ")
}

// grantsService reports whether a statement allows any action of a
// service ("iam"): through an Action pattern whose service part matches
// it (iam:*, *, *:*, i*:Get*), or a NotAction that does not exclude the
// whole service.
func (st Statement) grantsService(service string) bool {
	covers := func(p string, whole bool) bool {
		svc, act, ok := strings.Cut(strings.ToLower(p), ":")
		if !ok {
			// "*" alone names every action of every service.
			return svc == "*"
		}
		if m, _ := path.Match(svc, service); !m {
			return false
		}
		return !whole || act == "*"
	}
	if len(st.NotAction) > 0 {
		for _, p := range st.NotAction {
			if covers(p, true) {
				return false
			}
		}
		return true
	}
	for _, p := range st.Action {
		if covers(p, false) {
			return true
		}
	}
	return false
}

// actionsOf names, for a sentence, how a statement grants a service:
// its Action patterns that do, or its NotAction.
func (st Statement) actionsOf(service string) []string {
	if len(st.NotAction) > 0 {
		return []string{st.written()}
	}
	var out []string
	for _, p := range st.Action {
		if (Statement{Action: StringList{p}}).grantsService(service) {
			out = append(out, p)
		}
	}
	return out
}

// scopedByAlias reports whether a Condition limits a statement to keys
// with the alias: one of its kms:ResourceAliases tests is false both for
// a key with another alias and for a key with none (ForAllValues is true
// for a key without aliases, and so limits nothing).
func scopedByAlias(raw []byte, alias string) bool {
	if len(raw) == 0 {
		return false
	}
	var ops map[string]map[string]StringList
	if err := json.Unmarshal(raw, &ops); err != nil {
		return false
	}
	other := Context{"kms:ResourceAliases": {alias + "-not-this-one"}}
	none := Context{"kms:ResourceAliases": {}}
	for op, keys := range ops {
		for key, want := range keys {
			if strings.EqualFold(key, "kms:ResourceAliases") &&
				evalOperator(op, other, key, want) == condFalse && evalOperator(op, none, key, want) == condFalse {
				return true
			}
		}
	}
	return false
}
