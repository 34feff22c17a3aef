package azurehsm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/rekwiz/rekwiz/flows"
)

var errChanged = errors.New("the unwrapped bytes differ from the wrapped ones")

// roundTrip wraps 32 random bytes with the key and unwraps them.
func roundTrip(ctx context.Context, c *azkeys.Client, u flows.KeyURL) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	alg := azkeys.EncryptionAlgorithmA256KW
	w, err := c.WrapKey(ctx, u.Name, u.Version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: secret}, nil)
	if err != nil {
		return fmt.Errorf("WrapKey: %w", err)
	}
	if len(w.Result) == 0 {
		return errors.New("the reply to WrapKey has no \"value\"")
	}
	un, err := c.UnwrapKey(ctx, u.Name, u.Version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: w.Result}, nil)
	if err != nil {
		return fmt.Errorf("UnwrapKey: %w", err)
	}
	if un.Result == nil {
		return errors.New("the reply to UnwrapKey has no \"value\"")
	}
	if !bytes.Equal(un.Result, secret) {
		return errChanged
	}
	return nil
}

func (r *run) keyState(k *azkeys.GetKeyResponse, now time.Time, t flows.Target) bool {
	a := k.Attributes
	u := t.KeyURL
	switch {
	case a == nil || a.Enabled == nil || !*a.Enabled:
		r.Set(CheckKeyState, flows.StatusFail, "the key is disabled",
			fmt.Sprintf("az keyvault key set-attributes --hsm-name %s --name %s --enabled true", u.HSM, u.Name), 0)
		return false
	case a.Expires != nil && now.After(*a.Expires):
		r.Set(CheckKeyState, flows.StatusFail, "the key expired on "+a.Expires.UTC().Format("2006-01-02"),
			fmt.Sprintf("az keyvault key set-attributes --hsm-name %s --name %s --expires YYYY-MM-DDT00:00:00Z (a date to come), or use another key", u.HSM, u.Name), flows.StepKey)
		return false
	case a.NotBefore != nil && now.Before(*a.NotBefore):
		r.Set(CheckKeyState, flows.StatusFail, "the key is not valid before "+a.NotBefore.UTC().Format(time.RFC3339),
			fmt.Sprintf("wait until then, or az keyvault key set-attributes --hsm-name %s --name %s --not-before with an earlier time", u.HSM, u.Name), 0)
		return false
	}
	detail := "enabled"
	if a.Expires != nil {
		detail += ", expires " + a.Expires.UTC().Format("2006-01-02")
	}
	r.Set(CheckKeyState, flows.StatusPass, detail, "", 0)
	return true
}

func (r *run) keyType(k *azkeys.GetKeyResponse, t flows.Target) bool {
	kty := ""
	if k.Key != nil && k.Key.Kty != nil {
		kty = string(*k.Key.Kty)
	}
	var ops []string
	if k.Key != nil {
		for _, o := range k.Key.KeyOps {
			if o != nil {
				ops = append(ops, string(*o))
			}
		}
	}
	if kty != string(azkeys.KeyTypeOctHSM) {
		r.Set(CheckKeyType, flows.StatusFail, "the key is "+kty+"; the vendor wraps with symmetric oct-HSM keys",
			"choose an oct-HSM key, or let the script create one", flows.StepKey)
		return false
	}
	var missing []string
	for _, want := range []string{"wrapKey", "unwrapKey"} {
		if !slices.Contains(ops, want) {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		r.Set(CheckKeyType, flows.StatusFail, "the key does not allow "+strings.Join(missing, " or "),
			fmt.Sprintf("az keyvault key set-attributes --hsm-name %s --name %s --ops %s wrapKey unwrapKey", t.KeyURL.HSM, t.KeyURL.Name, strings.Join(withoutWrap(ops), " ")), 0)
		return false
	}
	r.Set(CheckKeyType, flows.StatusPass, "oct-HSM, operations "+strings.Join(ops, ", "), "", 0)
	return true
}

func withoutWrap(ops []string) []string {
	var out []string
	for _, o := range ops {
		if o != "wrapKey" && o != "unwrapKey" {
			out = append(out, o)
		}
	}
	return out
}

func (r *run) tag(k *azkeys.GetKeyResponse, t flows.Target) {
	var others []string
	for name, v := range k.Tags {
		if name != t.Domain && v != nil && *v == "allow" {
			if _, err := flows.ParseDomainID(name); err == nil {
				others = append(others, name)
			}
		}
	}
	sort.Strings(others)
	v := k.Tags[t.Domain]
	fix := "run the setup script again: it adds the tag " + t.Domain + "=allow and keeps the key's other tags"
	switch {
	case v == nil && len(others) > 0:
		r.Set(CheckTag, flows.StatusFail, "the key is tagged for "+strings.Join(others, ", ")+", not "+t.Domain, fix, flows.StepScript)
	case v == nil || *v != "allow":
		r.Set(CheckTag, flows.StatusFail, "the key has no tag "+t.Domain+"=allow", fix, flows.StepScript)
	case len(others) > 0:
		r.Set(CheckTag, flows.StatusWarn, t.Domain+"=allow, and also tagged for "+strings.Join(others, ", "),
			"if those domains should not use this key, remove their tags (az keyvault key set-attributes --tags with the tags to keep)", 0)
	default:
		r.Set(CheckTag, flows.StatusPass, t.Domain+"=allow", "", 0)
	}
}
