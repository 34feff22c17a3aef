package domainapi

import (
	"encoding/json"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

// A Google Cloud key goes to the API as gcp_am with its four parts, the
// names of the API's AntimatterDelegatedGcpKeyInfo, and nothing else.
func TestGCPKeyInformation(t *testing.T) {
	k, _, err := flows.ParseKeyResource("projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek")
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(keyInfos(flows.Target{Provider: flows.GCPDelegated, Domain: "dm-LCAJVnUE94B", KeyResource: k}).KeyInformation)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"providerName":"gcp_am","projectID":"my-project-123","location":"us-east1","keyringID":"rekwiz","keyID":"rek"}`
	if string(body) != want {
		t.Errorf("key information = %s\nwant %s", body, want)
	}
}
