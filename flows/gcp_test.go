package flows

import (
	"strings"
	"testing"
	"time"
)

func TestParseKeyResource(t *testing.T) {
	const good = "projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek_1"
	tests := []struct {
		in, want, note, err string
	}{
		{in: good, want: good},
		{in: "  " + good + "/ ", want: good},
		{in: good + "/cryptoKeyVersions/3", want: good, note: "key version 3"},
		{in: "projects/my-project-123/locations/global/keyRings/r/cryptoKeys/k", want: "projects/my-project-123/locations/global/keyRings/r/cryptoKeys/k"},
		{in: "projects/My-Project/locations/us-east1/keyRings/r/cryptoKeys/k", err: `project "My-Project"`},
		{in: "projects/p1/locations/us-east1/keyRings/r/cryptoKeys/k", err: "6-30 lowercase"},
		{in: "projects/my-project-123/locations/US_EAST/keyRings/r/cryptoKeys/k", err: `location "US_EAST"`},
		{in: "projects/my-project-123/locations/us-east1/keyRings/r.x/cryptoKeys/k", err: `key ring "r.x"`},
		{in: "projects/my-project-123/locations/us-east1/keyRings/r/cryptoKeys/" + strings.Repeat("k", 64), err: "1-63 letters"},
		{in: "projects/my-project-123/locations/us-east1/keyRings/r", err: "expected a key resource name like projects/"},
		{in: "https://cloudkms.googleapis.com/v1/" + good, err: "expected a key resource name"},
		{in: good + "/cryptoKeyVersions/3/x", err: "expected a key resource name"},
		{in: "", err: "required"},
		{in: good + "\x1b[2J", err: "control character"},
	}
	for _, tt := range tests {
		k, note, err := ParseKeyResource(tt.in)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseKeyResource(%q) error = %v, want it to say %q", tt.in, err, tt.err)
			}
		case err != nil:
			t.Errorf("ParseKeyResource(%q): %v", tt.in, err)
		case k.String() != tt.want:
			t.Errorf("ParseKeyResource(%q) = %s, want %s", tt.in, k, tt.want)
		case tt.note == "" && note != "", tt.note != "" && !strings.Contains(note, tt.note):
			t.Errorf("ParseKeyResource(%q) note = %q, want %q", tt.in, note, tt.note)
		}
	}
}

func TestGCPNames(t *testing.T) {
	good := map[string]func(string) (string, error){
		"my-project-123": ParseGCPProject, "us-east1": ParseGCPLocation, "northamerica-northeast1": ParseGCPLocation,
		"us": ParseGCPLocation, "nam4": ParseGCPLocation, "global": ParseGCPLocation, "rekwiz": ParseKeyRingID,
		"rek_2026-a": ParseCryptoKeyID, "HSM": ParseProtectionLevel, "software": ParseProtectionLevel,
	}
	for in, parse := range good {
		if _, err := parse(in); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
	bad := map[string]func(string) (string, error){
		"my-project-": ParseGCPProject, "1project": ParseGCPProject, "my_project": ParseGCPProject,
		strings.Repeat("a", 31): ParseGCPProject, "us east1": ParseGCPLocation, "us-east1-b": ParseGCPLocation,
		"ring/x": ParseKeyRingID, "": ParseCryptoKeyID, "external": ParseProtectionLevel,
	}
	for in, parse := range bad {
		if _, err := parse(in); err == nil {
			t.Errorf("%q: accepted", in)
		}
	}
	if got := GCPDomainLabel(domain); got != "dm-lcajvnue94b" {
		t.Errorf("label = %q", got)
	}
}

// The key name is checked the cloud's way: Cloud KMS takes _ and not
// more than 63 characters; a Managed HSM takes 127 and no _.
func TestKeyNameIsCheckedPerCloud(t *testing.T) {
	for _, tt := range []struct {
		p      Provider
		name   string
		wantOK bool
	}{
		{GCPDelegated, "rek_1", true},
		{AzureDelegated, "rek_1", false},
		{GCPDelegated, strings.Repeat("k", 64), false},
		{AzureDelegated, strings.Repeat("k", 64), true},
	} {
		s := newState(t, map[Field]string{FieldDomain: domain, FieldProvider: string(tt.p)})
		_, err := s.Validate(FieldKeyName, tt.name)
		if (err == nil) != tt.wantOK {
			t.Errorf("%s %q: err = %v, want ok %v", tt.p, tt.name, err, tt.wantOK)
		}
	}
}

// The pasted key must be the key the key step named.
func TestKeyResourceAgainstTheKeyStep(t *testing.T) {
	s := newState(t, map[Field]string{FieldDomain: domain, FieldProvider: string(GCPDelegated), FieldKey: "existing",
		FieldProject: "my-project-123", FieldLocation: "us-east1", FieldKeyRing: "rekwiz", FieldKeyName: "rek"})
	if _, err := s.Validate(FieldKeyResource, "projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Validate(FieldKeyResource, "projects/my-project-123/locations/europe-west2/keyRings/rekwiz/cryptoKeys/rek")
	if err == nil || !strings.Contains(err.Error(), "location is europe-west2, but the key step names us-east1") {
		t.Errorf("err = %v", err)
	}
}

func TestGCPNeedsTheVendorsServiceAccount(t *testing.T) {
	v := testVendor()
	v.GCPServiceAccount = ""
	sp := SetupSpec{Provider: GCPDelegated, Key: KeyNew, Domain: domain, Vendor: v, Project: "my-project-123",
		Location: "us-east1", KeyRing: "rekwiz", KeyName: "rek", ProtectionLevel: "hsm"}
	if err := sp.Validate(); err == nil || !strings.Contains(err.Error(), "gcpServiceAccount") {
		t.Errorf("err = %v, want it to name gcpServiceAccount", err)
	}
	v.GCPServiceAccount = "not-an-email"
	if err := v.Validate(); err == nil || !strings.Contains(err.Error(), "gcpServiceAccount") {
		t.Errorf("err = %v, want it to name gcpServiceAccount", err)
	}
	sp.Vendor = testVendor()
	if err := sp.Validate(); err != nil {
		t.Error(err)
	}
	if !strings.Contains(sp.Describe(), "roles/cloudkms.cryptoKeyEncrypterDecrypter on that key only") ||
		!strings.Contains(sp.Describe(), "dm-lcajvnue94b=allow") {
		t.Errorf("describe = %q", sp.Describe())
	}
}

func FuzzParseKeyResource(f *testing.F) {
	f.Add("projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek")
	f.Add("projects/my-project-123/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1")
	f.Add("projects//locations//keyRings//cryptoKeys/")
	f.Fuzz(func(t *testing.T, s string) {
		k, note, err := ParseKeyResource(s)
		if err != nil {
			return
		}
		again, note2, err := ParseKeyResource(k.String())
		if err != nil || again != k || note2 != "" {
			t.Fatalf("round trip of %q: %v, %q, %v", s, again, note2, err)
		}
		if note == "" && k.String() != strings.TrimSuffix(strings.TrimSpace(s), "/") {
			t.Fatalf("accepted %q unchanged but prints %q", s, k.String())
		}
	})
}

// A Google Cloud flow left at the paste step resumes there, with its key
// details and the pasted key resource name; a saved location that no
// longer holds stops the resume at the key details.
func TestGCPResumes(t *testing.T) {
	const key = "projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek"
	s := newState(t, map[Field]string{FieldDomain: domain, FieldProvider: string(GCPDelegated), FieldKey: "new",
		FieldProject: "my-project-123", FieldLocation: "us-east1", FieldKeyRing: "rekwiz", FieldKeyName: "rek", FieldProtection: "software"})
	if s.Step() != StepScript {
		t.Fatalf("at %s", s.Step())
	}
	mustNext(t, s) // paste
	if err := s.Set(FieldKeyResource, key); err != nil {
		t.Fatal(err)
	}
	snap, ok := s.Snapshot(time.Unix(1_800_000_000, 0))
	if !ok {
		t.Fatal("no snapshot")
	}
	r, _ := New(testVendor(), nil)
	at, err := r.Resume(snap)
	if err != nil || at != StepPaste || r.Value(FieldKeyResource) != key || r.Value(FieldProtection) != "software" {
		t.Fatalf("resumed at %s (%v), values %v", at, err, r.values)
	}
	snap.Values[FieldLocation] = "us east"
	r2, _ := New(testVendor(), nil)
	if at, _ := r2.Resume(snap); at != StepKeyDetails {
		t.Fatalf("resumed at %s, want the key details step", at)
	}
}
