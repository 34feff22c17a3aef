// Package azurehsm is rekwiz's Azure Managed HSM provider, on azidentity
// and azkeys: the pairing check that proves the vendor's application can
// wrap and unwrap with the customer's oct-HSM key, and the setup the
// script does, made through the SDK ("set it up for me").
package azurehsm

import "github.com/rekwiz/rekwiz/flows"

// Kit is what the Azure provider gives the flow: the set-up ("set it up
// for me", as the customer's admin) and the pairing check. A nil Setup
// leaves set-up to the script.
type Kit struct {
	Setup   *Setup
	Pairing *Pairing
}

// Serves reports whether p is Azure's.
func (Kit) Serves(p flows.Provider) bool { return p.Cloud() == flows.CloudAzure }

// SetupFor is the set-up of p, when p is Azure's and the kit has one.
func (k Kit) SetupFor(p flows.Provider) (*Setup, bool) {
	return k.Setup, k.Serves(p) && k.Setup != nil
}

// PairingFor is the pairing check of p, when p is Azure's and the kit
// has one.
func (k Kit) PairingFor(p flows.Provider) (*Pairing, bool) {
	return k.Pairing, k.Serves(p) && k.Pairing != nil
}
