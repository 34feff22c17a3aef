package fakecloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

// apiError is an AWS error as the protocols carry it.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func kmsErr(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

type kmsKey struct {
	id, arn, account, region string
	description              string
	spec, usage, origin      string
	state                    string // Enabled, Disabled, PendingDeletion, PendingImport
	multiRegion              bool
	rotation                 bool
	created                  time.Time
	deletionDate             time.Time
	policy                   string
	material                 []byte
}

type kmsAlias struct {
	name, arn, account, region string
	target                     string // key ID
	created, updated           time.Time
}

type kmsState struct {
	keys    map[string]*kmsKey   // by key ARN
	order   []string             // key ARNs in creation order
	aliases map[string]*kmsAlias // by alias ARN
}

func newKMSState() kmsState {
	return kmsState{keys: map[string]*kmsKey{}, aliases: map[string]*kmsAlias{}}
}

// kmsCall is one authenticated KMS request.
type kmsCall struct {
	s      *Sandbox
	id     *Identity
	region string
}

type kmsOp func(c *kmsCall, in []byte) (any, *apiError)

var kmsOps = map[string]kmsOp{
	"CreateKey":                       (*kmsCall).createKey,
	"DescribeKey":                     (*kmsCall).describeKey,
	"ListKeys":                        (*kmsCall).listKeys,
	"EnableKey":                       (*kmsCall).enableKey,
	"DisableKey":                      (*kmsCall).disableKey,
	"ScheduleKeyDeletion":             (*kmsCall).scheduleKeyDeletion,
	"CancelKeyDeletion":               (*kmsCall).cancelKeyDeletion,
	"CreateAlias":                     (*kmsCall).createAlias,
	"UpdateAlias":                     (*kmsCall).updateAlias,
	"DeleteAlias":                     (*kmsCall).deleteAlias,
	"ListAliases":                     (*kmsCall).listAliases,
	"GetKeyPolicy":                    (*kmsCall).getKeyPolicy,
	"PutKeyPolicy":                    (*kmsCall).putKeyPolicy,
	"GenerateDataKeyWithoutPlaintext": (*kmsCall).generateDataKeyWithoutPlaintext,
	"Encrypt":                         (*kmsCall).encrypt,
	"Decrypt":                         (*kmsCall).decrypt,
	"ReEncrypt":                       (*kmsCall).reEncrypt,
	"GetKeyRotationStatus":            (*kmsCall).getKeyRotationStatus,
	"EnableKeyRotation":               (*kmsCall).enableKeyRotation,
}

func (c *kmsCall) getKeyRotationStatus(raw []byte) (any, *apiError) {
	var in struct{ KeyId string }
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.keyFor(in.KeyId, "kms:GetKeyRotationStatus", true)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"KeyId": k.arn, "KeyRotationEnabled": k.rotation}
	if k.rotation {
		out["RotationPeriodInDays"] = 365
	}
	return out, nil
}

func (c *kmsCall) enableKeyRotation(raw []byte) (any, *apiError) {
	var in struct{ KeyId string }
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.keyFor(in.KeyId, "kms:EnableKeyRotation", false)
	if err != nil {
		return nil, err
	}
	if k.spec != "SYMMETRIC_DEFAULT" || k.origin != "AWS_KMS" {
		return nil, kmsErr("UnsupportedOperationException", "%s does not support automatic rotation.", k.arn)
	}
	k.rotation = true
	return nil, nil
}

func (s *Sandbox) serveKMS(w http.ResponseWriter, r *http.Request, body []byte) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	who := "anonymous"
	out, aerr := func() (any, *apiError) {
		sig, authErr := s.verify(r, body, s.now())
		if authErr != nil {
			return nil, kmsAuthError(authErr)
		}
		who = sig.id.Name
		fn, ok := kmsOps[op]
		if !ok {
			return nil, kmsErr("UnknownOperationException", "The rekwiz sandbox does not implement KMS %s.", op)
		}
		if err := s.applyFaults("kms", op, sig.id.Name); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return fn(&kmsCall{s: s, id: sig.id, region: sig.region}, body)
	}()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", s.requestID())
	if aerr != nil {
		s.logf("kms %s %s -> %s", op, who, aerr.Code)
		w.WriteHeader(aerr.Status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": aerr.Code, "message": aerr.Message})
		return
	}
	s.logf("kms %s %s -> ok", op, who)
	if out == nil {
		return // operations without output answer 200 with an empty body
	}
	_ = json.NewEncoder(w).Encode(out)
}

func kmsAuthError(e *authError) *apiError {
	code := map[authKind]string{
		authMissing:      "MissingAuthenticationTokenException",
		authUnknown:      "UnrecognizedClientException",
		authMismatch:     "InvalidSignatureException",
		authExpired:      "InvalidSignatureException",
		authMalformed:    "IncompleteSignatureException",
		authTokenExpired: "ExpiredTokenException",
	}[e.kind]
	return kmsErr(code, "%s", e.message)
}

func (s *Sandbox) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uuid()
}

// decode reads an operation's input; bad JSON is a SerializationException.
func decode(in []byte, v any) *apiError {
	if len(in) == 0 {
		in = []byte("{}")
	}
	if err := json.Unmarshal(in, v); err != nil {
		return kmsErr("SerializationException", "Could not read the request: %v", err)
	}
	return nil
}

// epoch is a timestamp as AWS JSON protocols write it: seconds since 1970.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)), nil
}

func (c *kmsCall) arn(resource string) string {
	return "arn:aws:kms:" + c.region + ":" + c.id.Account + ":" + resource
}

const defaultPolicyTemplate = `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::%s:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`

var keySpecs = map[string]string{ // spec -> the only or default usage
	"SYMMETRIC_DEFAULT": "ENCRYPT_DECRYPT",
	"RSA_2048":          "ENCRYPT_DECRYPT", "RSA_3072": "ENCRYPT_DECRYPT", "RSA_4096": "ENCRYPT_DECRYPT",
	"ECC_NIST_P256": "SIGN_VERIFY", "ECC_NIST_P384": "SIGN_VERIFY", "ECC_NIST_P521": "SIGN_VERIFY",
	"HMAC_256": "GENERATE_VERIFY_MAC",
}

func (c *kmsCall) createKey(raw []byte) (any, *apiError) {
	var in struct {
		Description                    string
		KeySpec                        string
		CustomerMasterKeySpec          string
		KeyUsage                       string
		Policy                         string
		Origin                         string
		MultiRegion                    bool
		BypassPolicyLockoutSafetyCheck bool
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	spec := in.KeySpec
	if spec == "" {
		spec = in.CustomerMasterKeySpec
	}
	if spec == "" {
		spec = "SYMMETRIC_DEFAULT"
	}
	usage, ok := keySpecs[spec]
	if !ok {
		return nil, kmsErr("ValidationException", "KeySpec %s is not supported by the rekwiz sandbox.", spec)
	}
	if in.KeyUsage != "" {
		usage = in.KeyUsage
	}
	origin := in.Origin
	if origin == "" {
		origin = "AWS_KMS"
	}
	if origin != "AWS_KMS" && origin != "EXTERNAL" {
		return nil, kmsErr("UnsupportedOperationException", "Origin %s is not supported by the rekwiz sandbox.", origin)
	}
	policy := in.Policy
	if policy == "" {
		policy = fmt.Sprintf(defaultPolicyTemplate, c.id.Account)
	} else if err := c.checkNewPolicy(policy, in.BypassPolicyLockoutSafetyCheck); err != nil {
		return nil, err
	}
	id := c.s.uuid()
	if in.MultiRegion {
		id = "mrk-" + strings.ReplaceAll(id, "-", "")
	}
	k := &kmsKey{
		id: id, arn: c.arn("key/" + id), account: c.id.Account, region: c.region,
		description: in.Description, spec: spec, usage: usage, origin: origin,
		state: "Enabled", multiRegion: in.MultiRegion, created: c.s.now(), policy: policy,
	}
	if origin == "EXTERNAL" {
		k.state = "PendingImport"
	}
	k.material = c.s.keyMaterial(k.arn)
	c.s.kms.keys[k.arn] = k
	c.s.kms.order = append(c.s.kms.order, k.arn)
	return map[string]any{"KeyMetadata": k.metadata()}, nil
}

func (k *kmsKey) metadata() map[string]any {
	m := map[string]any{
		"AWSAccountId": k.account, "KeyId": k.id, "Arn": k.arn,
		"CreationDate": epoch(k.created), "Enabled": k.state == "Enabled",
		"Description": k.description, "KeyUsage": k.usage, "KeyState": k.state,
		"Origin": k.origin, "KeyManager": "CUSTOMER",
		"KeySpec": k.spec, "CustomerMasterKeySpec": k.spec, "MultiRegion": k.multiRegion,
	}
	if k.spec == "SYMMETRIC_DEFAULT" {
		m["EncryptionAlgorithms"] = []string{"SYMMETRIC_DEFAULT"}
	}
	if k.state == "PendingDeletion" {
		m["DeletionDate"] = epoch(k.deletionDate)
	}
	if k.origin == "EXTERNAL" {
		m["ExpirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE"
	}
	return m
}

// resolve finds the key a KeyId names: a key ID or alias name in the
// caller's account, or a key or alias ARN in any account. crossAccount
// says whether the operation may use another account's key.
func (c *kmsCall) resolve(ref string, crossAccount bool) (*kmsKey, *apiError) {
	if ref == "" {
		return nil, kmsErr("ValidationException", "KeyId is required.")
	}
	keyARN := ""
	switch {
	case strings.HasPrefix(ref, "arn:"):
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" {
			return nil, kmsErr("NotFoundException", "Invalid arn %s", ref)
		}
		if parts[3] != c.region {
			return nil, kmsErr("NotFoundException", "Invalid arn %s", parts[3])
		}
		if parts[4] != c.id.Account && !crossAccount {
			return nil, kmsErr("AccessDeniedException", "This operation cannot be performed on a KMS key in another AWS account.")
		}
		if strings.HasPrefix(parts[5], "alias/") {
			a := c.s.kms.aliases[ref]
			if a == nil {
				return nil, kmsErr("NotFoundException", "Alias %s is not found.", ref)
			}
			keyARN = "arn:aws:kms:" + a.region + ":" + a.account + ":key/" + a.target
		} else {
			keyARN = ref
		}
	case strings.HasPrefix(ref, "alias/"):
		a := c.s.kms.aliases[c.arn(ref)]
		if a == nil {
			return nil, kmsErr("NotFoundException", "Alias %s is not found.", c.arn(ref))
		}
		keyARN = c.arn("key/" + a.target)
	default:
		keyARN = c.arn("key/" + ref)
	}
	k := c.s.kms.keys[keyARN]
	if k == nil {
		return nil, kmsErr("NotFoundException", "Key '%s' does not exist", keyARN)
	}
	return k, nil
}

// authorize applies the key's policy to the caller, as KMS does for every
// key operation. The sandbox's built-in identities hold IAM permission in
// their own accounts, so a grant to their account root is enough; an IAM
// user the customer made (a service account) also needs its own policies
// to allow the action where the key policy leaves it to the account.
func (c *kmsCall) authorize(k *kmsKey, action string) *apiError {
	doc, err := awspolicy.Parse(k.policy)
	if err != nil {
		return c.denied(k, action, "no resource-based policy allows the "+action+" action")
	}
	ctx := awspolicy.Context{"kms:ResourceAliases": c.s.aliasesOf(k), "kms:CallerAccount": {c.id.Account}}
	dec := doc.DecideIn(c.id.caller(), action, ctx)
	user := c.s.userOf(c.id)
	switch {
	case dec == awspolicy.ExplicitDeny:
		return c.denied(k, action, "with an explicit deny in a resource-based policy")
	case dec == awspolicy.ImplicitDeny:
		return c.denied(k, action, "because no resource-based policy allows the "+action+" action")
	case user == nil:
		return nil
	}
	// The key policy allows the user: by its own ARN, or by its account.
	direct := doc.DecideIn(awspolicy.Caller{ARN: c.id.ARN}, action, ctx) == awspolicy.Allow
	idDec := awspolicy.ImplicitDeny
	for _, p := range c.s.identityPolicies(user) {
		d, err := awspolicy.Parse(p)
		if err != nil {
			continue
		}
		switch d.DecideIdentity(action, k.arn, ctx) {
		case awspolicy.ExplicitDeny:
			return c.denied(k, action, "with an explicit deny in an identity-based policy")
		case awspolicy.Allow:
			idDec = awspolicy.Allow
		}
	}
	if direct || idDec == awspolicy.Allow {
		return nil
	}
	return c.denied(k, action, "because no identity-based policy allows the "+action+" action")
}

func (c *kmsCall) denied(k *kmsKey, action, why string) *apiError {
	return kmsErr("AccessDeniedException", "User: %s is not authorized to perform: %s on resource: %s %s", c.id.ARN, action, k.arn, why)
}

// aliasesOf lists the alias names of a key (kms:ResourceAliases).
func (s *Sandbox) aliasesOf(k *kmsKey) []string {
	var names []string
	for _, a := range s.kms.aliases {
		if a.account == k.account && a.region == k.region && a.target == k.id {
			names = append(names, a.name)
		}
	}
	sort.Strings(names)
	return names
}

// keyFor resolves and authorizes in one step.
func (c *kmsCall) keyFor(ref, action string, crossAccount bool) (*kmsKey, *apiError) {
	k, err := c.resolve(ref, crossAccount)
	if err != nil {
		return nil, err
	}
	return k, c.authorize(k, action)
}

// usable refuses cryptographic use of a key that is not an enabled
// symmetric encryption key, with the error KMS gives.
func (k *kmsKey) usable() *apiError {
	switch k.state {
	case "Enabled":
	case "Disabled":
		return kmsErr("DisabledException", "%s is disabled.", k.arn)
	default:
		return kmsErr("KMSInvalidStateException", "%s is %s and cannot be used.", k.arn, strings.ToLower(k.state[:1])+k.state[1:])
	}
	if k.spec != "SYMMETRIC_DEFAULT" || k.usage != "ENCRYPT_DECRYPT" {
		return kmsErr("InvalidKeyUsageException", "%s key usage is %s with spec %s; this operation needs a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key.", k.arn, k.usage, k.spec)
	}
	return nil
}

type keyIDInput struct{ KeyId string }

func (c *kmsCall) describeKey(raw []byte) (any, *apiError) {
	var in keyIDInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.keyFor(in.KeyId, "kms:DescribeKey", true)
	if err != nil {
		return nil, err
	}
	return map[string]any{"KeyMetadata": k.metadata()}, nil
}

// page cuts a list by Limit and Marker (an index) as KMS's list calls do.
func page[T any](items []T, limit int, marker string) ([]T, bool, string, *apiError) {
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		return nil, false, "", kmsErr("ValidationException", "Limit must be between 1 and 1000.")
	}
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(marker)
		if err != nil || n < 0 || n > len(items) {
			return nil, false, "", kmsErr("InvalidMarkerException", "The marker is not valid.")
		}
		start = n
	}
	end := min(start+limit, len(items))
	if end < len(items) {
		return items[start:end], true, strconv.Itoa(end), nil
	}
	return items[start:end], false, "", nil
}

func (c *kmsCall) listKeys(raw []byte) (any, *apiError) {
	var in struct {
		Limit  int
		Marker string
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	var all []map[string]string
	for _, arn := range c.s.kms.order {
		if k := c.s.kms.keys[arn]; k.account == c.id.Account && k.region == c.region {
			all = append(all, map[string]string{"KeyId": k.id, "KeyArn": k.arn})
		}
	}
	items, truncated, next, err := page(all, in.Limit, in.Marker)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Keys": items, "Truncated": truncated}
	if truncated {
		out["NextMarker"] = next
	}
	return out, nil
}

func (c *kmsCall) setState(raw []byte, action string, change func(k *kmsKey) *apiError) (any, *apiError) {
	var in keyIDInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.keyFor(in.KeyId, action, false)
	if err != nil {
		return nil, err
	}
	return nil, change(k)
}

func (c *kmsCall) enableKey(raw []byte) (any, *apiError) {
	return c.setState(raw, "kms:EnableKey", func(k *kmsKey) *apiError {
		if k.state != "Enabled" && k.state != "Disabled" {
			return kmsErr("KMSInvalidStateException", "%s is %s.", k.arn, k.state)
		}
		k.state = "Enabled"
		return nil
	})
}

func (c *kmsCall) disableKey(raw []byte) (any, *apiError) {
	return c.setState(raw, "kms:DisableKey", func(k *kmsKey) *apiError {
		if k.state != "Enabled" && k.state != "Disabled" {
			return kmsErr("KMSInvalidStateException", "%s is %s.", k.arn, k.state)
		}
		k.state = "Disabled"
		return nil
	})
}

func (c *kmsCall) scheduleKeyDeletion(raw []byte) (any, *apiError) {
	var in struct {
		KeyId               string
		PendingWindowInDays int
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	days := in.PendingWindowInDays
	if days == 0 {
		days = 30
	}
	if days < 7 || days > 30 {
		return nil, kmsErr("ValidationException", "PendingWindowInDays must be between 7 and 30.")
	}
	k, err := c.keyFor(in.KeyId, "kms:ScheduleKeyDeletion", false)
	if err != nil {
		return nil, err
	}
	k.state = "PendingDeletion"
	k.deletionDate = c.s.now().Add(time.Duration(days) * 24 * time.Hour)
	return map[string]any{"KeyId": k.arn, "DeletionDate": epoch(k.deletionDate), "KeyState": k.state, "PendingWindowInDays": days}, nil
}

func (c *kmsCall) cancelKeyDeletion(raw []byte) (any, *apiError) {
	var in keyIDInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.keyFor(in.KeyId, "kms:CancelKeyDeletion", false)
	if err != nil {
		return nil, err
	}
	if k.state != "PendingDeletion" {
		return nil, kmsErr("KMSInvalidStateException", "%s is not pending deletion.", k.arn)
	}
	k.state = "Disabled" // as KMS leaves a key whose deletion was cancelled
	return map[string]any{"KeyId": k.arn}, nil
}

var aliasNameRE = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)

func (c *kmsCall) checkAliasName(name string) *apiError {
	if !aliasNameRE.MatchString(name) {
		return kmsErr("ValidationException", "1 validation error detected: Value '%s' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$", name)
	}
	if strings.HasPrefix(name, "alias/aws/") {
		return kmsErr("NotAuthorizedException", "Alias names that begin with alias/aws/ are reserved.")
	}
	return nil
}

type aliasInput struct {
	AliasName   string
	TargetKeyId string
}

func (c *kmsCall) aliasTarget(in aliasInput, action string) (*kmsKey, *apiError) {
	if err := c.checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	if strings.HasPrefix(in.TargetKeyId, "alias/") || strings.Contains(in.TargetKeyId, ":alias/") {
		return nil, kmsErr("ValidationException", "TargetKeyId must be a key ID or key ARN, not an alias.")
	}
	return c.keyFor(in.TargetKeyId, action, false)
}

func (c *kmsCall) createAlias(raw []byte) (any, *apiError) {
	var in aliasInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.aliasTarget(in, "kms:CreateAlias")
	if err != nil {
		return nil, err
	}
	arn := c.arn(in.AliasName)
	if c.s.kms.aliases[arn] != nil {
		return nil, kmsErr("AlreadyExistsException", "An alias with the name %s already exists", arn)
	}
	now := c.s.now()
	c.s.kms.aliases[arn] = &kmsAlias{name: in.AliasName, arn: arn, account: c.id.Account, region: c.region, target: k.id, created: now, updated: now}
	return nil, nil
}

func (c *kmsCall) updateAlias(raw []byte) (any, *apiError) {
	var in aliasInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.aliasTarget(in, "kms:UpdateAlias")
	if err != nil {
		return nil, err
	}
	a := c.s.kms.aliases[c.arn(in.AliasName)]
	if a == nil {
		return nil, kmsErr("NotFoundException", "Alias %s is not found.", c.arn(in.AliasName))
	}
	a.target, a.updated = k.id, c.s.now()
	return nil, nil
}

func (c *kmsCall) deleteAlias(raw []byte) (any, *apiError) {
	var in aliasInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if err := c.checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	arn := c.arn(in.AliasName)
	a := c.s.kms.aliases[arn]
	if a == nil {
		return nil, kmsErr("NotFoundException", "Alias %s is not found.", arn)
	}
	if _, err := c.keyFor(a.target, "kms:DeleteAlias", false); err != nil {
		return nil, err
	}
	delete(c.s.kms.aliases, arn)
	return nil, nil
}

func (c *kmsCall) listAliases(raw []byte) (any, *apiError) {
	var in struct {
		KeyId  string
		Limit  int
		Marker string
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	var filter *kmsKey
	if in.KeyId != "" {
		k, err := c.resolve(in.KeyId, false)
		if err != nil {
			return nil, err
		}
		filter = k
	}
	var all []*kmsAlias
	for _, a := range c.s.kms.aliases {
		if a.account == c.id.Account && a.region == c.region && (filter == nil || a.target == filter.id) {
			all = append(all, a)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	items, truncated, next, err := page(all, in.Limit, in.Marker)
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, a := range items {
		list = append(list, map[string]any{
			"AliasName": a.name, "AliasArn": a.arn, "TargetKeyId": a.target,
			"CreationDate": epoch(a.created), "LastUpdatedDate": epoch(a.updated),
		})
	}
	out := map[string]any{"Aliases": list, "Truncated": truncated}
	if truncated {
		out["NextMarker"] = next
	}
	return out, nil
}

type policyInput struct {
	KeyId                          string
	PolicyName                     string
	Policy                         string
	BypassPolicyLockoutSafetyCheck bool
}

func (c *kmsCall) policyKey(in policyInput, action string) (*kmsKey, *apiError) {
	if in.PolicyName != "" && in.PolicyName != "default" {
		return nil, kmsErr("NotFoundException", "No such policy exists: %s", in.PolicyName)
	}
	return c.keyFor(in.KeyId, action, false)
}

func (c *kmsCall) getKeyPolicy(raw []byte) (any, *apiError) {
	var in policyInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.policyKey(in, "kms:GetKeyPolicy")
	if err != nil {
		return nil, err
	}
	return map[string]string{"Policy": k.policy, "PolicyName": "default"}, nil
}

func (c *kmsCall) putKeyPolicy(raw []byte) (any, *apiError) {
	var in policyInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.policyKey(in, "kms:PutKeyPolicy")
	if err != nil {
		return nil, err
	}
	if err := c.checkNewPolicy(in.Policy, in.BypassPolicyLockoutSafetyCheck); err != nil {
		return nil, err
	}
	k.policy = in.Policy
	return nil, nil
}

// checkNewPolicy refuses a malformed policy, and one that would lock the
// caller out of changing it again, as KMS does unless told to bypass.
func (c *kmsCall) checkNewPolicy(policy string, bypass bool) *apiError {
	if len(policy) > 32768 {
		return kmsErr("LimitExceededException", "The key policy exceeds 32 KB.")
	}
	doc, err := awspolicy.Parse(policy)
	if err != nil {
		return kmsErr("MalformedPolicyDocumentException", "%v", err)
	}
	if !bypass && doc.Decide(c.id.caller(), "kms:PutKeyPolicy") != awspolicy.Allow {
		return kmsErr("MalformedPolicyDocumentException", "The new key policy will not allow you to update the key policy in the future.")
	}
	return nil
}

type cryptoInput struct {
	KeyId             string
	Plaintext         []byte
	CiphertextBlob    []byte
	EncryptionContext map[string]string
	NumberOfBytes     int
	KeySpec           string

	SourceKeyId                  string
	SourceEncryptionContext      map[string]string
	DestinationKeyId             string
	DestinationEncryptionContext map[string]string
}

func (c *kmsCall) generateDataKeyWithoutPlaintext(raw []byte) (any, *apiError) {
	var in cryptoInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	n := in.NumberOfBytes
	switch {
	case in.KeySpec == "AES_256" || (in.KeySpec == "" && n == 0):
		n = 32
	case in.KeySpec == "AES_128":
		n = 16
	case in.KeySpec != "":
		return nil, kmsErr("ValidationException", "KeySpec must be AES_256 or AES_128.")
	}
	if n < 1 || n > 1024 {
		return nil, kmsErr("ValidationException", "NumberOfBytes must be between 1 and 1024.")
	}
	k, err := c.keyFor(in.KeyId, "kms:GenerateDataKeyWithoutPlaintext", true)
	if err != nil {
		return nil, err
	}
	if err := k.usable(); err != nil {
		return nil, err
	}
	blob, serr := seal(k, randomBytes(n), in.EncryptionContext)
	if serr != nil {
		return nil, kmsErr("KMSInternalException", "%v", serr)
	}
	return map[string]any{"CiphertextBlob": blob, "KeyId": k.arn}, nil
}

func (c *kmsCall) encrypt(raw []byte) (any, *apiError) {
	var in cryptoInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if len(in.Plaintext) < 1 || len(in.Plaintext) > 4096 {
		return nil, kmsErr("ValidationException", "Plaintext must be 1 to 4096 bytes.")
	}
	k, err := c.keyFor(in.KeyId, "kms:Encrypt", true)
	if err != nil {
		return nil, err
	}
	if err := k.usable(); err != nil {
		return nil, err
	}
	blob, serr := seal(k, in.Plaintext, in.EncryptionContext)
	if serr != nil {
		return nil, kmsErr("KMSInternalException", "%v", serr)
	}
	return map[string]any{"CiphertextBlob": blob, "KeyId": k.arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

// openBlob finds the key a ciphertext names, checks the caller may use it
// for action (and that it is the key the caller expected, if named), and
// decrypts it under the encryption context.
func (c *kmsCall) openBlob(blob []byte, ctx map[string]string, expect, action string) (*kmsKey, []byte, *apiError) {
	keyARN, ok := blobKey(blob)
	if !ok {
		return nil, nil, kmsErr("InvalidCiphertextException", "")
	}
	k := c.s.kms.keys[keyARN]
	if k == nil || k.region != c.region {
		return nil, nil, kmsErr("InvalidCiphertextException", "")
	}
	if expect != "" {
		want, err := c.resolve(expect, true)
		if err != nil {
			return nil, nil, err
		}
		if want != k {
			return nil, nil, kmsErr("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
		}
	}
	if err := c.authorize(k, action); err != nil {
		return nil, nil, err
	}
	if err := k.usable(); err != nil {
		return nil, nil, err
	}
	pt, err := open(k, blob, ctx)
	if err != nil {
		return nil, nil, kmsErr("InvalidCiphertextException", "")
	}
	return k, pt, nil
}

func (c *kmsCall) decrypt(raw []byte) (any, *apiError) {
	var in cryptoInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, pt, err := c.openBlob(in.CiphertextBlob, in.EncryptionContext, in.KeyId, "kms:Decrypt")
	if err != nil {
		return nil, err
	}
	return map[string]any{"KeyId": k.arn, "Plaintext": pt, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

func (c *kmsCall) reEncrypt(raw []byte) (any, *apiError) {
	var in cryptoInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	src, pt, err := c.openBlob(in.CiphertextBlob, in.SourceEncryptionContext, in.SourceKeyId, "kms:ReEncryptFrom")
	if err != nil {
		return nil, err
	}
	dst, err := c.keyFor(in.DestinationKeyId, "kms:ReEncryptTo", true)
	if err != nil {
		return nil, err
	}
	if err := dst.usable(); err != nil {
		return nil, err
	}
	blob, serr := seal(dst, pt, in.DestinationEncryptionContext)
	if serr != nil {
		return nil, kmsErr("KMSInternalException", "%v", serr)
	}
	return map[string]any{
		"CiphertextBlob": blob, "KeyId": dst.arn, "SourceKeyId": src.arn,
		"SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT", "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	}, nil
}

// CreateKey makes a symmetric encryption key in the customer's account,
// with the default key policy, as if the customer had made it earlier:
// the demo's "existing key". It returns the key's ARN.
func (s *Sandbox) CreateKey(region, description string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &kmsCall{s: s, id: s.customer, region: region}
	out, err := c.createKey([]byte(`{"Description":` + strconv.Quote(description) + `}`))
	if err != nil {
		panic("sandbox: creating a key: " + err.Error()) // only a bad region could, and callers pass a valid one
	}
	return out.(map[string]any)["KeyMetadata"].(map[string]any)["Arn"].(string)
}
