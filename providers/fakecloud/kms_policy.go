package fakecloud

import "github.com/rekwiz/rekwiz/providers/awspolicy"

// Key policies: read and replaced, with KMS's lockout safety check.

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
