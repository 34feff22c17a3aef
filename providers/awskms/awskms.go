// Package awskms is rekwiz's AWS KMS provider, on aws-sdk-go-v2: it sets a
// key up for the vendor the way the generated script does, and checks that
// the vendor can use it (the pairing check). Its two providers, a
// delegated key and a service account, are variants of one flow: the
// variant is chosen once from the provider (variant.go), and the checks
// and the set-up ask it rather than the provider.
//
// It never deletes, disables or schedules the deletion of a key, never
// bypasses the key policy lockout check, and keeps every statement of a
// key policy but the vendor's own.
package awskms

import "github.com/rekwiz/rekwiz/flows"

// Kit is what the AWS providers give the flow, both variants alike (the
// variant is the target's or the spec's provider, read inside): the
// set-up ("set it up for me") and the pairing check. A nil Setup leaves
// set-up to the script.
type Kit struct {
	Setup   *Setup
	Pairing *Pairing
}

// Serves reports whether p is one of AWS's providers.
func (Kit) Serves(p flows.Provider) bool {
	_, ok := variantOf(p)
	return ok
}

// SetupFor is the set-up of p, when p is an AWS provider and the kit
// has one.
func (k Kit) SetupFor(p flows.Provider) (*Setup, bool) {
	return k.Setup, k.Serves(p) && k.Setup != nil
}

// PairingFor is the pairing check of p, when p is an AWS provider and
// the kit has one.
func (k Kit) PairingFor(p flows.Provider) (*Pairing, bool) {
	return k.Pairing, k.Serves(p) && k.Pairing != nil
}
