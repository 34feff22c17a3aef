package vendorprofile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	t.Parallel()
	v := Default()
	if !v.Placeholder || v.Slug == "" {
		t.Fatalf("default profile = %+v", v)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"name":"Acme","slug":"acme","awsAccountID":"123456789012","awsPrincipalARN":"arn:aws:iam::123456789012:role/rek","azureAppID":"11111111-2222-3333-4444-555555555555"}`)
	v, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if v.Placeholder || v.AWSPrincipal("aws") != "arn:aws:iam::123456789012:role/rek" {
		t.Fatalf("loaded %+v", v)
	}
	tests := map[string]string{
		`{"name":"Acme","slug":"acme","awsAccountID":"1","azureAppID":"11111111-2222-3333-4444-555555555555"}`:               "awsAccountID: expected a 12-digit AWS account ID",
		`{"name":"Acme","slug":"acme","awsAccountID":"123456789012","azureAppID":"x","extra":1}`:                             `unknown field "extra"`,
		`{"name":"Acme","slug":"ac me","awsAccountID":"123456789012","azureAppID":"11111111-2222-3333-4444-555555555555"}`:   "slug: expected",
		`{"name":"Acme","slug":"acme","awsAccountID":"123456789012","azureAppID":"11111111-2222-3333-4444-555555555555"} {}`: "more than one JSON document",
		`not json`: "invalid character",
	}
	i := 0
	for body, want := range tests {
		i++
		p := write(filepath.Base(t.Name())+string(rune('a'+i))+".json", body)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
			t.Errorf("Load(%s) = %v, want the path and %q", body, err, want)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

// TestLoadRefusesCaseTwinsAndOddFiles: a second awsAccountID differing
// only in case would silently win with encoding/json; a FIFO would hang
// and /dev/zero never end.
func TestLoadRefusesCaseTwinsAndOddFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	twin := filepath.Join(dir, "twin.json")
	body := `{"name":"Acme","slug":"acme","awsAccountID":"123456789012","AWSAccountID":"666666666666","azureAppID":"11111111-2222-3333-4444-555555555555"}`
	if err := os.WriteFile(twin, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(twin); err == nil || !strings.Contains(err.Error(), `"AWSAccountID": given twice`) || !strings.Contains(err.Error(), twin) {
		t.Errorf("case twin: %v", err)
	}
	lone := filepath.Join(dir, "lone.json")
	if err := os.WriteFile(lone, []byte(`{"name":"Acme","slug":"acme","AWSACCOUNTID":"666666666666","azureAppID":"11111111-2222-3333-4444-555555555555"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(lone); err == nil || !strings.Contains(err.Error(), `spelled "awsAccountID"`) {
		t.Errorf("wrong case: %v", err)
	}
	fifo := filepath.Join(dir, "fifo.json")
	mkfifo(t, fifo)
	for _, p := range []string{fifo, "/dev/zero"} {
		done := make(chan error, 1)
		go func() { _, err := Load(p); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %v", p, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: Load hangs", p)
		}
	}
}
