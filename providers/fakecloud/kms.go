package fakecloud

import (
	"encoding/json"
	"fmt"
	"net/http"
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
