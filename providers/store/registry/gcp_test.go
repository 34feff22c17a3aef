package registry

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

// A Google Cloud key is recorded by its resource name, and the IDs of
// the keys registered before Google Cloud came are what they were.
func TestGCPEntryAndStableIDs(t *testing.T) {
	r := Open(filepath.Join(t.TempDir(), FileName))
	k, _, err := flows.ParseKeyResource("projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek")
	if err != nil {
		t.Fatal(err)
	}
	gcp := flows.Target{Provider: flows.GCPDelegated, Domain: "dm-LCAJVnUE94B", KeyResource: k}
	if _, err := r.Register(context.Background(), gcp); err != nil {
		t.Fatal(err)
	}
	e, ok, err := r.Lookup("dm-LCAJVnUE94B")
	if err != nil || !ok || e.Provider != "gcp_am" || e.Key() != k.String() || e.KeyResource != k.String() {
		t.Fatalf("entry %+v, %v, %v", e, ok, err)
	}
	// An AWS entry's ID, as rekwiz before Google Cloud computed it.
	aws := Entry{Provider: "aws_am", KeyARN: "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme"}
	if got := rekID("dm-LCAJVnUE94B", aws); got != "rek-5acbe26c4fc87cbb" {
		t.Errorf("rekID = %s, changed", got)
	}
	if rekID("dm-LCAJVnUE94B", e) == rekID("dm-LCAJVnUE94B", Entry{Provider: "gcp_am"}) {
		t.Error("the key resource is not part of the ID")
	}
}
