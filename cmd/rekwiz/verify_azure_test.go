package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/azurehsm"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
)

// azureAs reaches the sandbox, signed in as app: verify's check and its
// output are otherwise what a customer at az login gets.
func azureAs(e *fakecloudtest.Env, app fakecloud.AzureApp) *deps {
	d := realDeps()
	d.AzureOptions = azcore.ClientOptions{Transport: e.Server.AzureHTTPClient()}
	d.AzureCredential = func(tenant string) (azcore.TokenCredential, error) {
		return azidentity.NewClientSecretCredential(tenant, app.ClientID, app.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: d.AzureOptions, DisableInstanceDiscovery: true})
	}
	return d
}

func TestVerifyAzure(t *testing.T) {
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 3, Vendor: vendorprofile.Default()})
	t.Parallel()
	d := azureAs(e, e.AzureCustomer())
	opts := d.AzureOptions
	const domain = "dm-LCAJVnUE94B"
	e.CreateHSM("contoso-hsm")
	e.AssignHSMRole("contoso-hsm", e.AzureCustomer().ObjectID, "Managed HSM Crypto User", "/keys") // Administrator alone may not touch keys
	cred, err := azidentity.NewClientSecretCredential(e.AzureTenant(), e.AzureCustomer().ClientID, e.AzureCustomer().ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	spec := flows.SetupSpec{Provider: flows.AzureDelegated, Key: flows.KeyNew, Domain: domain, Vendor: vendorprofile.Default(), HSMName: "contoso-hsm", KeyName: "rek-1"}
	res, err := (&azurehsm.Setup{Credential: cred, TenantID: e.AzureTenant(), Options: opts}).Run(context.Background(), spec, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	keyURL, tenant := res.Paste[flows.FieldKeyURL], res.Paste[flows.FieldTenantID]
	args := []string{"verify", "--provider", "azure-delegated", "--domain", domain, "--key-url", keyURL, "--tenant-id", tenant}

	code, out, errOut := execWith(t, d, false, args...)
	for _, want := range []string{"key: " + keyURL, "tenant: " + tenant, "✓ PASS    Vendor's application may read, wrap and unwrap with the key, and no more: Managed HSM Crypto Service Encryption User at /keys/rek-1",
		"✓ PASS    Wrap and unwrap 32 random bytes", "Result: paired."} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("paired key: exit %d, want %q\n%s\n%s", code, want, out, errOut)
		}
	}

	code, out, errOut = execWith(t, d, false, append(args, "--json")...)
	var doc struct {
		SchemaVersion                         int
		Provider, ProviderName, Key, TenantID string
		Result                                string
		Checks                                []struct{ ID, Status string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("--json: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if doc.SchemaVersion != 1 || doc.Provider != "azure-delegated" || doc.ProviderName != "azure_am" || doc.Key != keyURL || doc.TenantID != tenant ||
		doc.Result != "paired" || len(doc.Checks) != 7 || doc.Checks[5].ID != azurehsm.CheckRole || doc.Checks[5].Status != "pass" {
		t.Fatalf("document %+v", doc)
	}
	assertNowhere(t, e.AzureCustomer().ClientSecret, nil, []byte(out), []byte(errOut))

	// A key of the same HSM the vendor was given no role on: exit 1, and
	// the fix is the exact az command.
	other := e.CreateHSMKey("contoso-hsm", "rek-2", fakecloud.HSMKeyOptions{Tags: map[string]string{domain: "allow"}})
	code, out, _ = execWith(t, d, false, "verify", "--provider", "azure-delegated", "--domain", domain, "--key-url", other, "--tenant-id", tenant)
	for _, want := range []string{"✗ FAIL    Vendor's application may read, wrap and unwrap with the key, and no more: the vendor's application " + vendorprofile.Default().AzureAppID +
		" may not read, wrap, unwrap with key rek-2 (it has Managed HSM Crypto Service Encryption User at /keys/rek-1, which does not cover the key)",
		`azure.role: az keyvault role assignment create --hsm-name contoso-hsm --role "Managed HSM Crypto Service Encryption User" --assignee ` + vendorprofile.Default().AzureAppID + " --scope /keys/rek-2",
		"Result: 1 check failed."} {
		if code != exitCheckFailed || !strings.Contains(out, want) {
			t.Fatalf("no role: exit %d, want %q\n%s", code, want, out)
		}
	}

	// Another tenant: the credential check names it.
	code, out, _ = execWith(t, d, false, "verify", "--provider", "azure-delegated", "--domain", domain, "--key-url", keyURL, "--tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47", "--wait", "0")
	if code != exitCheckFailed || !strings.Contains(out, "✗ FAIL    Azure credential for the tenant: tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 does not exist") {
		t.Fatalf("wrong tenant: exit %d\n%s", code, out)
	}

	// Denied once, as a fresh role assignment is: stderr says it waits,
	// the retry passes.
	e.Inject(fakecloud.Fault{Service: "hsm", Operation: "POST " + strings.TrimPrefix(keyURL, "https://contoso-hsm.managedhsm.azure.net") + "/wrapkey",
		Code: "Forbidden", Message: "Caller is not authorized to perform action on resource.", Status: 403, Times: 1})
	code, out, errOut = execWith(t, d, false, append(args, "--wait", "10s")...)
	if code != 0 || !strings.Contains(errOut, "rekwiz: azure.round-trip: access denied; a new role assignment can take minutes to apply. Retrying in 2s (10s left)...") {
		t.Fatalf("denied once: exit %d\n%s\n%s", code, out, errOut)
	}

	for _, bad := range [][]string{
		{"--key-url", keyURL},
		{"--key-url", keyURL, "--tenant-id", tenant, "--key-arn", "arn:aws:kms:us-east-1:111122223333:alias/" + domain + "/sandbox"},
		{"--key-url", strings.Replace(keyURL, "managedhsm.azure.net", "vault.azure.net", 1), "--tenant-id", tenant},
		{"--key-url", keyURL, "--tenant-id", "not-a-guid"},
	} {
		code, out, errOut := execWith(t, d, false, append([]string{"verify", "--provider", "azure-delegated", "--domain", domain}, bad...)...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, "rekwiz: --") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", bad, code, out, errOut)
		}
	}
}
