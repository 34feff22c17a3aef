package fakecloud

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Keys: creating, describing and listing them, their state and rotation.

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
