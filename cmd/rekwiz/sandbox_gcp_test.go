package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/cloudkms/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
)

// TestSandboxCommandGCP runs `rekwiz sandbox`, reads the Google Cloud
// environment it prints for the customer and the vendor, and uses it with
// the Google SDK as the demo does: GOOGLE_APPLICATION_CREDENTIALS (the
// key file it wrote, token_uri the sandbox's) and REKWIZ_GCP_KMS_ENDPOINT.
// The customer reads the seeded key; the vendor, bound to nothing, may not.
func TestSandboxCommandGCP(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, done := runSandboxCommand(ctx)

	key := fakecloud.GCPKeyName(fakecloud.GCPProject, fakecloud.GCPLocation, fakecloud.GCPDemoKeyRing, fakecloud.GCPDemoKey)
	for _, who := range []string{"customer", "vendor"} {
		e := env[who]
		if !strings.HasPrefix(e[gcpEndpointEnv], "http://127.0.0.1:") || e["CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS"] != e[gcpEndpointEnv] ||
			e["CLOUDSDK_AUTH_ACCESS_TOKEN"] == "" || e["CLOUDSDK_CORE_PROJECT"] != fakecloud.GCPProject || !fileExists(e["CLOUDSDK_CONFIG"]) {
			t.Fatalf("%s environment: %v", who, e)
		}
		if fi, err := os.Stat(e["GOOGLE_APPLICATION_CREDENTIALS"]); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s key file: %v %v", who, err, fi)
		}
		var keyFile struct {
			ClientEmail string `json:"client_email"`
			TokenURI    string `json:"token_uri"`
		}
		if b, err := os.ReadFile(e["GOOGLE_APPLICATION_CREDENTIALS"]); err != nil || json.Unmarshal(b, &keyFile) != nil ||
			!strings.HasPrefix(keyFile.TokenURI, e[gcpEndpointEnv]) ||
			who == "vendor" && keyFile.ClientEmail != vendorprofile.Default().GCPServiceAccount {
			t.Fatalf("%s key file: %v %+v", who, err, keyFile)
		}
		svc, err := cloudkms.NewService(ctx, option.WithEndpoint(e[gcpEndpointEnv]),
			option.WithAuthCredentialsFile(option.ServiceAccount, e["GOOGLE_APPLICATION_CREDENTIALS"]))
		if err != nil {
			t.Fatal(err)
		}
		k, err := svc.Projects.Locations.KeyRings.CryptoKeys.Get(key).Do()
		var ge *googleapi.Error
		switch who {
		case "customer":
			if err != nil || k.Primary == nil || k.Primary.State != "ENABLED" {
				t.Fatalf("the customer reads the demo key: %v %+v", err, k)
			}
		case "vendor":
			if !errors.As(err, &ge) || ge.Code != 403 {
				t.Fatalf("the vendor, bound to nothing, read the key: %v", err)
			}
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitInterrupted {
			t.Fatalf("sandbox exit %d, want %d", code, exitInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sandbox did not stop when interrupted")
	}
}
