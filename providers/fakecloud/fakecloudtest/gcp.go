package fakecloudtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
)

// GcloudPath is the Google Cloud CLI of the machine image: Debian's
// google-cloud-cli (Google Cloud SDK 528), whose apt source is not among
// the ones .ci/run may use, so it cannot be installed there.
const GcloudPath = "/usr/bin/gcloud"

// Gcloud returns gcloud's path, for every test that runs gcloud or reads
// its help. With -short (the quick loop) the test is skipped, as RealCLI
// skips the other slow CLIs: each gcloud start is a Python start, a
// second or more. Without gcloud the test is skipped, except under CI
// (CI=true), where it fails: the CI machine's image must have it, and
// Tool's advice (have .ci/run install the package) cannot be followed.
func Gcloud(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath(GcloudPath); err != nil && !testing.Short() {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: the Google Cloud CLI (Debian's google-cloud-cli, Google Cloud SDK 528) is part of the machine image and .ci/run cannot install it (its apt source is not configured); use an image that has it", GcloudPath)
		}
		t.Skipf("%s is missing: the Google Cloud CLI (Debian's google-cloud-cli) is not installed", GcloudPath)
	}
	return RealCLI(t, GcloudPath, "google-cloud-cli")
}

// GcloudEnv is an environment in which gcloud reaches the sandbox as id
// and nothing else: an empty HOME and a fresh CLOUDSDK_CONFIG, so the
// machine's gcloud accounts and properties are never read.
func (e *Env) GcloudEnv(t testing.TB, id fakecloud.GCPIdentity) []string {
	t.Helper()
	dir, err := os.MkdirTemp(filepath.Dir(e.Home), "gcloud-config-")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{
		"HOME=" + e.Home,
		"PATH=" + os.Getenv("PATH"),
		"LANG=C.UTF-8",
	}, e.Server.GCPEnv(id, dir)...)
}

// GCPCredentialsFile writes id's service-account key (token_uri the
// sandbox's) to a file only the test can read and returns its path, for
// GOOGLE_APPLICATION_CREDENTIALS or the SDK's credentials-file option.
func (e *Env) GCPCredentialsFile(t testing.TB, id fakecloud.GCPIdentity) string {
	t.Helper()
	b, err := e.GCPServiceAccountJSON(id, e.Server.GCPTokenURL())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(filepath.Dir(e.Home), id.Name+"-gcp-key.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
