package awskms

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/rekwiz/rekwiz/flows"
)

// describe calls DescribeKey and returns the key's metadata, refusing an
// answer without the fields the checks read.
func describe(ctx context.Context, k *kms.Client, keyID string) (*types.KeyMetadata, error) {
	out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, err
	}
	md := out.KeyMetadata
	switch {
	case md == nil:
		return nil, errMissing{"DescribeKey", "KeyMetadata"}
	case md.Arn == nil:
		return nil, errMissing{"DescribeKey", "KeyMetadata.Arn"}
	case md.KeyId == nil:
		return nil, errMissing{"DescribeKey", "KeyMetadata.KeyId"}
	case md.KeyState == "":
		return nil, errMissing{"DescribeKey", "KeyMetadata.KeyState"}
	}
	return md, nil
}

func (r *run) keyState(md *types.KeyMetadata) bool {
	arn := aws.ToString(md.Arn)
	var region string
	if ref, err := flows.ParseKeyRef(arn); err == nil && ref.ARN != nil {
		region = ref.ARN.Region
	}
	switch md.KeyState {
	case types.KeyStateEnabled:
		r.Set(CheckKeyState, flows.StatusPass, "Enabled", "", 0)
		return true
	case types.KeyStateDisabled:
		r.Set(CheckKeyState, flows.StatusFail, "the key is disabled",
			fmt.Sprintf("aws kms enable-key --region %s --key-id %s", region, arn), 0)
	case types.KeyStatePendingDeletion:
		when := "soon"
		if md.DeletionDate != nil {
			when = "on " + md.DeletionDate.UTC().Format("2006-01-02")
		}
		r.Set(CheckKeyState, flows.StatusFail, "the key is scheduled for deletion "+when,
			fmt.Sprintf("aws kms cancel-key-deletion --region %s --key-id %s && aws kms enable-key --region %s --key-id %s", region, arn, region, arn), 0)
	case types.KeyStatePendingImport:
		r.Set(CheckKeyState, flows.StatusFail, "the key is waiting for its key material to be imported",
			"import the key material (aws kms get-parameters-for-import, then aws kms import-key-material), or use a key KMS generated", flows.StepKey)
	case types.KeyStateUnavailable:
		store := aws.ToString(md.CustomKeyStoreId)
		r.Set(CheckKeyState, flows.StatusFail, "the key is unavailable: its custom key store "+store+" is disconnected",
			fmt.Sprintf("aws kms connect-custom-key-store --region %s --custom-key-store-id %s, then retry", region, store), 0)
	case types.KeyStateCreating:
		r.Set(CheckKeyState, flows.StatusFail, "the key is still being created (a multi-Region replica takes a few minutes)",
			fmt.Sprintf("wait until aws kms describe-key --region %s --key-id %s shows Enabled, then retry", region, arn), 0)
	case types.KeyStatePendingReplicaDeletion:
		r.Set(CheckKeyState, flows.StatusFail, "the key's replicas are being deleted before the key itself",
			fmt.Sprintf("aws kms cancel-key-deletion --region %s --key-id %s on each replica, then enable the key", region, arn), 0)
	default:
		r.Set(CheckKeyState, flows.StatusFail, "the key is "+string(md.KeyState), "wait until the key is Enabled, then retry", 0)
	}
	return false
}

func (r *run) keySpec(md *types.KeyMetadata) bool {
	if md.KeySpec == types.KeySpecSymmetricDefault && md.KeyUsage == types.KeyUsageTypeEncryptDecrypt {
		r.Set(CheckKeySpec, flows.StatusPass, "SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT", "", 0)
		return true
	}
	r.Set(CheckKeySpec, flows.StatusFail, fmt.Sprintf("the key is %s, %s; the vendor wraps keys with SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys", md.KeySpec, md.KeyUsage),
		"choose another key, or let the script create one", flows.StepKey)
	return false
}

// keyInfo reports, as information that never fails a check, what the
// customer should know about the key: automatic rotation off, a
// multi-Region key, imported key material, a custom key store.
func (r *run) keyInfo(ctx context.Context, k *kms.Client, md *types.KeyMetadata) {
	r.Set(CheckKeyInfo, flows.StatusRunning, "", "", 0)
	var notes, remedies []string
	arn := aws.ToString(md.Arn)
	region := ""
	if parts := strings.Split(arn, ":"); len(parts) > 3 {
		region = parts[3]
	}
	switch {
	case md.Origin == types.OriginTypeExternal:
		notes = append(notes, "imported key material: rotation is manual")
	case md.CustomKeyStoreId != nil:
		notes = append(notes, "key in custom key store "+aws.ToString(md.CustomKeyStoreId)+": its availability is the store's")
	default:
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		out, err := k.GetKeyRotationStatus(cctx, &kms.GetKeyRotationStatusInput{KeyId: md.Arn})
		switch {
		case err != nil:
			notes = append(notes, "rotation status not readable with these credentials")
		case !out.KeyRotationEnabled:
			notes = append(notes, "automatic rotation is off")
			remedies = append(remedies, fmt.Sprintf("aws kms enable-key-rotation --region %s --key-id %s", region, arn))
		}
	}
	if aws.ToBool(md.MultiRegion) {
		notes = append(notes, "multi-Region key: replicas share its material")
	}
	if len(notes) == 0 {
		r.Set(CheckKeyInfo, flows.StatusPass, "KMS-generated material, rotated automatically", "", 0)
		return
	}
	if len(notes) == 1 && notes[0] == "rotation status not readable with these credentials" {
		r.Set(CheckKeyInfo, flows.StatusPass, notes[0], "", 0)
		return
	}
	remedy := "nothing is required; to rotate automatically: " + strings.Join(remedies, "; ")
	if len(remedies) == 0 {
		remedy = "nothing is required; this is for your records"
	}
	r.Set(CheckKeyInfo, flows.StatusWarn, strings.Join(notes, "; "), remedy, 0)
}
