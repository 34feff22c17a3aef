package gcpkms_test

import (
	"testing"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/gcpkms"
)

// TestKitServesGoogleCloudOnly: the kit answers for Google Cloud's
// provider alone, with its set-up when it has one.
func TestKitServesGoogleCloudOnly(t *testing.T) {
	t.Parallel()
	k := gcpkms.Kit{Setup: gcpkms.NewSetup(gcpkms.Config{}), Pairing: gcpkms.NewPairing(gcpkms.Config{})}
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
	if served != 1 || !k.Serves(flows.GCPDelegated) {
		t.Errorf("served %d providers, want Google Cloud's one", served)
	}
	if _, ok := (gcpkms.Kit{Pairing: k.Pairing}).SetupFor(flows.GCPDelegated); ok {
		t.Error("a kit without a set-up offered one")
	}
}

// TestDefaultConfig: the endpoint comes from REKWIZ_GCP_KMS_ENDPOINT, and
// nothing is looked up before the first call (start-up waits for no
// metadata server).
func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	cfg := gcpkms.DefaultConfig(func(k string) string {
		if k == gcpkms.EndpointEnv {
			return " http://127.0.0.1:9/ "
		}
		return ""
	})
	if cfg.Endpoint != "http://127.0.0.1:9/" || cfg.ResourceManager != cfg.Endpoint || cfg.Customer == nil || cfg.Vendor != nil {
		t.Errorf("with the variable: %+v", cfg)
	}
	cfg = gcpkms.DefaultConfig(func(string) string { return "" })
	if cfg.Endpoint != "" || cfg.ResourceManager != gcpkms.DefaultResourceManagerEndpoint {
		t.Errorf("without it: %+v", cfg)
	}
}
