package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

// stubAz is an az that answers the reads the Azure scripts make from a
// customer holding Administrator at "/" and Crypto User at /keys (the
// data actions as Managed HSM's role definitions list them), logs every
// call, and fails any call that would change something: a dry run must
// make none.
const stubAz = `#!/usr/bin/env bash
echo "az $*" >>"$AZ_LOG"
if [[ "$*" == "keyvault role assignment list"*"--assignee-object-id $AZ_ME"* ]]; then
  echo "[{\"scope\":\"/\",\"roleDefinitionId\":\"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/a290e904-7015-4bba-90c8-60543313cdb4\"},{\"scope\":\"$AZ_KEYSCOPE\",\"roleDefinitionId\":\"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b\"}]"
  exit 0
fi
case "$*" in
  "account show"*) echo 72f988bf-0000-0000-0000-000000000000 ;;
  "ad signed-in-user show"*) echo "$AZ_ME" ;;
  "ad sp show"*) exit 3 ;;
  "keyvault role assignment list"*) echo 0 ;;
  "keyvault role definition list"*)
    echo '[{"id":"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/a290e904-7015-4bba-90c8-60543313cdb4","name":"a290e904-7015-4bba-90c8-60543313cdb4","permissions":[{"dataActions":["Microsoft.KeyVault/managedHsm/roleAssignments/read/action","Microsoft.KeyVault/managedHsm/roleAssignments/write/action"]}]},{"id":"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b","name":"21dbd100-6940-42c2-9190-5d6cb909625b","permissions":[{"dataActions":["Microsoft.KeyVault/managedHsm/keys/read/action","Microsoft.KeyVault/managedHsm/keys/write/action","Microsoft.KeyVault/managedHsm/keys/create"]}]}]' ;;
  "keyvault key show"*) [ -n "$AZ_NOKEY" ] && exit 3; echo '{"key":{"kid":"https://contoso-hsm.managedhsm.azure.net/keys/k/1","kty":"oct-HSM","keyOps":["wrapKey","unwrapKey"]},"tags":{"owner":"platform","dm-LCAJVnUE94B":"'"${AZ_TAGVAL:-allow}"'"}}' ;;
  *) echo "CHANGE: az $*" >>"$AZ_LOG"; exit 9 ;;
esac
`

func runStub(t *testing.T, v variant, env ...string) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "az"), []byte(stubAz), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Render(v.spec, v.opts)
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "log")
	cmd := exec.Command("bash", "-c", s)
	cmd.Env = append([]string{"PATH=" + dir + ":/usr/bin:/bin", "AZ_LOG=" + log, "AZ_ME=0a592c45-613e-4f1b-9023-7c4414fd53bf", "AZ_KEYSCOPE=/keys"}, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	calls, _ := os.ReadFile(log)
	return out.String() + errb.String(), string(calls), err
}

// TestAzureDryRun: with REKWIZ_DRY_RUN=1 each Azure script prints the
// plan (the role assignment to add, the tags) and makes no call that
// changes anything; without it, the same script goes on to change.
func TestAzureDryRun(t *testing.T) {
	t.Parallel()
	for _, v := range variants() {
		if v.spec.Provider != flows.AzureDelegated {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			var env []string
			if v.spec.Key == flows.KeyNew && !v.opts.Teardown {
				env = append(env, "AZ_NOKEY=1")
			}
			out, calls, err := runStub(t, v, append(env, "REKWIZ_DRY_RUN=1")...)
			if err != nil || strings.Contains(calls, "CHANGE:") || !strings.Contains(out, "Dry run") {
				t.Fatalf("%v\n%s\ncalls:\n%s", err, out, calls)
			}
			if !v.opts.Teardown {
				for _, want := range []string{"Would create the service principal", "Would give the vendor Managed HSM Crypto Service Encryption User at " + "/keys/" + v.spec.KeyName, "Dry run: nothing was changed."} {
					if !strings.Contains(out, want) {
						t.Errorf("plan lacks %q:\n%s", want, out)
					}
				}
			}
			if _, calls, _ := runStub(t, v, env...); !strings.Contains(calls, "CHANGE:") {
				t.Errorf("without the dry run nothing was changed:\n%s", calls)
			}
		})
	}
}

// TestAzureRightsPreflight: a customer holding only Administrator is
// stopped before any change, with the command that grants the key role.
func TestAzureRightsPreflight(t *testing.T) {
	t.Parallel()
	for _, v := range variants() {
		if v.spec.Provider != flows.AzureDelegated || v.opts.Teardown {
			continue
		}
		out, calls, err := runStub(t, v, "AZ_KEYSCOPE=/keys/some-other-key")
		want := `az keyvault role assignment create --hsm-name contoso-hsm --role "Managed HSM Crypto User" --assignee 0a592c45-613e-4f1b-9023-7c4414fd53bf --scope /keys/` + v.spec.KeyName
		if err == nil || strings.Contains(calls, "CHANGE:") || !strings.Contains(out, want) || !strings.Contains(out, "Nothing was changed") {
			t.Errorf("%s: %v\n%s\ncalls:\n%s", v.name, err, out, calls)
		}
	}
}

// TestAzureCryptoUserProfile: a vendor profile asking for Crypto User
// gets it in the script, whose plan says what else that role allows.
func TestAzureCryptoUserProfile(t *testing.T) {
	t.Parallel()
	for _, v := range variants() {
		if v.spec.Provider != flows.AzureDelegated {
			continue
		}
		def, err := Render(v.spec, v.opts)
		if err != nil || !strings.Contains(def, "readonly ROLE='Managed HSM Crypto Service Encryption User'") || strings.Contains(def, "Crypto User'") {
			t.Fatalf("%s default: %v", v.name, err)
		}
		v.spec.Vendor.AzureRole = flows.AzureRoleCryptoUser
		s, err := Render(v.spec, v.opts)
		if err != nil || !strings.Contains(s, "readonly ROLE='Managed HSM Crypto User'") {
			t.Fatalf("%s: %v", v.name, err)
		}
		if !v.opts.Teardown && !strings.Contains(s, "The vendor's profile\n#      asks for this role; it also lets the vendor create, change and\n#      delete keys") {
			t.Errorf("%s: the plan does not say what Crypto User allows:\n%s", v.name, s)
		}
	}
}
