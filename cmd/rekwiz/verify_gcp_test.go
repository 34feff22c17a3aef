package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/providers/gcpkms"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
)

// TestVerifyGCP runs `rekwiz verify --provider gcp-delegated` as a
// customer's shell would, with GOOGLE_APPLICATION_CREDENTIALS (a key file
// whose token_uri is the sandbox's) and REKWIZ_GCP_KMS_ENDPOINT: a key
// set up as the script sets it up is paired; one without the domain's
// label fails that check, in the text and in --json, with exit 1.
func TestVerifyGCP(t *testing.T) {
	v := vendorprofile.Default()
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: v})
	// Application Default Credentials are read from the process's own
	// environment, as for a customer.
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", e.GCPCredentialsFile(t, e.GCPCustomer()))
	t.Setenv(gcpkms.EndpointEnv, e.Server.GCPKMSEndpoint())
	d := isolatedDeps(t)

	const domain = "dm-LCAJVnUE94B"
	key := func(name string, labels map[string]string) string {
		k := e.CreateGCPKey(fakecloud.GCPProject, fakecloud.GCPLocation, "rekwiz", name, fakecloud.GCPKeyOptions{Labels: labels})
		e.GrantGCPRole(k, flows.GCPVendorRole, v.GCPMember())
		return k
	}
	good := key("good", map[string]string{flows.GCPDomainLabel(domain): "allow", "owner": "platform"})
	code, out, errOut := execWith(t, d, false, "verify", "--provider", "gcp-delegated", "--domain", domain, "--key-resource", good)
	if code != exitOK || !strings.Contains(out, "Result: paired.") || !strings.Contains(out, "Key is labelled for this domain") {
		t.Fatalf("good key: exit %d\n%s\n%s", code, out, errOut)
	}

	unlabelled := key("unlabelled", nil)
	code, out, errOut = execWith(t, d, false, "verify", "--provider", "gcp-delegated", "--domain", domain, "--key-resource", unlabelled, "--json")
	var doc struct {
		ProviderName, Key, Result string
		Checks                    []struct{ ID, Status, Remedy string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json: %v\n%s\n%s", err, out, errOut)
	}
	failed := map[string]string{}
	for _, c := range doc.Checks {
		if c.Status == "fail" {
			failed[c.ID] = c.Remedy
		}
	}
	if code != exitCheckFailed || doc.Result != "failed" || doc.ProviderName != "gcp_am" || doc.Key != unlabelled ||
		len(failed) != 1 || !strings.Contains(failed["gcp.label"], "gcloud kms keys update") {
		t.Fatalf("unlabelled key: exit %d, %+v", code, doc)
	}

	// A key version's name is the key's, with a note; a malformed name is
	// refused with the flag's name and the form it wants.
	code, _, errOut = execWith(t, d, false, "verify", "--provider", "gcp-delegated", "--domain", domain, "--key-resource", "projects/x/keys/y")
	if code != exitUsage || !strings.Contains(errOut, "--key-resource: expected a key resource name like projects/") {
		t.Errorf("bad name: exit %d, %q", code, errOut)
	}
}

// TestVerifyGCPNotSignedIn: with no Application Default Credentials,
// verify says so in one sentence with the command that signs in, and
// exits 4, as for AWS and Azure.
func TestVerifyGCPNotSignedIn(t *testing.T) {
	t.Parallel()
	d := isolatedDeps(t)
	d.GCP = func() gcpkms.Config {
		return gcpkms.Config{Customer: func(context.Context) (gcpkms.Identity, error) {
			return gcpkms.Identity{}, fmt.Errorf("%w: google: could not find default credentials", gcpkms.ErrNoCredentials)
		}}
	}
	code, out, errOut := execWith(t, d, false, "verify", "--provider", "gcp-delegated", "--domain", "dm-LCAJVnUE94B",
		"--key-resource", "projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek")
	if code != exitSignIn || out != "" || !strings.Contains(errOut, "gcloud auth application-default login") ||
		strings.Contains(errOut, "could not find default credentials") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
