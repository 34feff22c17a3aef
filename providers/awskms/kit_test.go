package awskms_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
)

// TestKitServesAWSOnly: the kit answers for AWS's providers, both
// variants, and for no other; without a set-up it offers none.
func TestKitServesAWSOnly(t *testing.T) {
	t.Parallel()
	k := awskms.Kit{Pairing: awskms.NewPairing(aws.Config{})}
	served := 0
	for _, p := range flows.Providers() {
		_, setup := k.SetupFor(p)
		pairing, ok := k.PairingFor(p)
		if k.Serves(p) != ok || (ok && pairing == nil) || setup {
			t.Errorf("%s: serves %v, pairing %v, set-up %v", p, k.Serves(p), ok, setup)
		}
		if ok {
			served++
		}
	}
	if served != 2 {
		t.Errorf("served %d providers, want the two AWS variants", served)
	}
}
