package azurehsm_test

import (
	"testing"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/azurehsm"
)

// TestKitServesAzureOnly: the kit answers for Azure's provider alone,
// with its set-up when it has one.
func TestKitServesAzureOnly(t *testing.T) {
	t.Parallel()
	k := azurehsm.Kit{Setup: &azurehsm.Setup{}, Pairing: azurehsm.NewPairing(azurehsm.Config{})}
	served := 0
	for _, p := range flows.Providers() {
		s, setup := k.SetupFor(p)
		c, pairing := k.PairingFor(p)
		if k.Serves(p) != pairing || setup != pairing || (setup && s == nil) || (pairing && c == nil) {
			t.Errorf("%s: serves %v, set-up %v, pairing %v", p, k.Serves(p), setup, pairing)
		}
		if pairing {
			served++
		}
	}
	if served != 1 {
		t.Errorf("served %d providers, want Azure's one", served)
	}
	if _, ok := (azurehsm.Kit{Pairing: k.Pairing}).SetupFor(flows.AzureDelegated); ok {
		t.Error("a kit without a set-up offered one")
	}
}
