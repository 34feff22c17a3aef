package azurehsm

import (
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

// TestCloudOf: each Managed HSM suffix the key URL parser accepts gets
// its own cloud's token audience and Graph.
func TestCloudOf(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]cloud{
		"https://contoso-hsm.managedhsm.azure.net/keys/k":         {"https://managedhsm.azure.net/.default", "https://graph.microsoft.com"},
		"https://contoso-hsm.managedhsm.usgovcloudapi.net/keys/k": {"https://managedhsm.usgovcloudapi.net/.default", "https://graph.microsoft.us"},
		"https://contoso-hsm.managedhsm.azure.cn/keys/k":          {"https://managedhsm.azure.cn/.default", "https://microsoftgraph.chinacloudapi.cn"},
	} {
		u, err := flows.ParseKeyURL(url)
		if err != nil {
			t.Fatal(err)
		}
		if got := cloudOf(u.Suffix); got != want {
			t.Errorf("%s: %+v, want %+v", url, got, want)
		}
	}
}
