package flows

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSnapshotAndResume(t *testing.T) {
	v := Vendor{Name: "Acme", Slug: "acme", AWSAccountID: "999988887777", AzureAppID: "11111111-2222-3333-4444-555555555555"}
	s, err := New(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Snapshot(time.Now()); ok {
		t.Fatal("a snapshot before the domain is answered")
	}
	answer := func(f Field, val string) {
		s.Set(f, val)
	}
	answer(FieldDomain, "dm-LCAJVnUE94B")
	mustNext(t, s)
	answer(FieldProvider, "aws-service-account")
	mustNext(t, s)
	answer(FieldKey, "new")
	mustNext(t, s)
	answer(FieldRegion, "us-east-1")
	answer(FieldCompany, "Example")
	mustNext(t, s) // script
	mustNext(t, s) // paste
	answer(FieldAliasARN, "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme/Example")
	answer(FieldAccessKeyID, "AKIAIOSFODNN7EXAMPLE")
	answer(FieldSecretAccessKey, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	if s.Step() != StepPaste {
		t.Fatalf("at %s", s.Step())
	}
	snap, ok := s.Snapshot(time.Unix(1_800_000_000, 0))
	if !ok {
		t.Fatal("no snapshot")
	}
	b, _ := json.Marshal(snap)
	if strings.Contains(string(b), "wJalrXUtnFEMI") || strings.Contains(string(b), "secret") {
		t.Fatalf("a snapshot holds the secret: %s", b)
	}

	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	r, _ := New(v, nil)
	at, err := r.Resume(back)
	if err != nil || at != StepPaste || r.Value(FieldAliasARN) != snap.Values[FieldAliasARN] || r.Secret(FieldSecretAccessKey) != "" {
		t.Fatalf("resumed at %s (%v), values %v", at, err, r.values)
	}
	// The secret is asked again: the paste step does not pass without it.
	if err := r.Next(); err == nil || !strings.Contains(err.Error(), "secret-access-key") {
		t.Fatalf("paste passed without the secret: %v", err)
	}

	// An answer that no longer holds stops the resume at its step.
	back.Values[FieldRegion] = "mars-north-1"
	r2, _ := New(v, nil)
	if at, _ := r2.Resume(back); at != StepKeyDetails {
		t.Fatalf("resumed at %s, want the key details step", at)
	}
	// A flag given now wins over the saved answer.
	r3, _ := New(v, map[Field]string{FieldDomain: "dm-LCAJVnUE94B", FieldRegion: "eu-west-1"})
	back.Values[FieldRegion] = "us-east-1"
	r3.Resume(back)
	if r3.Value(FieldRegion) != "eu-west-1" {
		t.Fatalf("region %q", r3.Value(FieldRegion))
	}
}

func mustNext(t *testing.T, s *State) {
	t.Helper()
	if err := s.Next(); err != nil {
		t.Fatalf("%s: %v", s.Step(), err)
	}
}
